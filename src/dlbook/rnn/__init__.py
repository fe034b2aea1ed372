"""Recurrent networks (vanilla RNN, LSTM, GRU), in three backends with one API.

Pick a backend module; all three export the same names::

    from dlbook.rnn import numpy_backend as rnn_np        # from scratch, explicit BPTT
    from dlbook.rnn import torch_backend as rnn_torch     # wraps torch.nn.RNN / LSTM / GRU
    from dlbook.rnn import tensorflow_backend as rnn_tf   # the same on TensorFlow
    rnn = dlbook.rnn.backend("torch")                     # the same, by name

Shape legend: B = batch, T = time steps, D = input features, H = hidden units,
G = gate blocks (1 for RNN, 4 for LSTM, 3 for GRU). Everything is batch-first.

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor):

=============================================  ===========================================
``RNN(input_size, hidden_size, *, seed=0,``    one layer of
``dtype="float32")``                           ``h' = tanh(x W_ih + b_ih + h W_hh + b_hh)``
``LSTM(...)``, ``GRU(...)``                    the same constructor, PyTorch's equations
``model.forward(x, state=None)``               x (B, T, D) -> ``(outputs, final_state)``:
                                               outputs (B, T, H); state is h (B, H), or
                                               ``(h, c)`` for the LSTM; None means zeros.
                                               ``model(x, state)`` is the same
``model.get_weights()``                        NumPy copies in the canonical layout
                                               ``{"W_ih", "W_hh", "b_ih", "b_hh"}``
``model.set_weights(w)``                       load that layout (names, shapes checked)
``sequence_loss_and_grads(model, x, state,``   the loss
``d_outputs, d_final)``                        ``sum(outputs * d_outputs) + sum(h_T * d_h)``
                                               ``[+ sum(c_T * d_c)]`` and, as NumPy,
                                               ``(loss, grads, dx, dstate)``: one backward
                                               pass with those upstream gradients
=============================================  ===========================================

The NumPy backend adds the cells as functions, forward next to backward
(``rnn_cell_forward`` / ``rnn_cell_backward``, ``lstm_cell_*``, ``gru_cell_*``),
``model.backward(d_outputs, d_final)`` (backpropagation through time) and
:func:`~dlbook.rnn.numpy_backend.bptt_truncated_grads` (truncated BPTT, chunks of
``k`` steps from :func:`truncated_bptt_segments`).

**Canonical weight layout** (:mod:`dlbook.rnn.init`): ``W_ih`` (D, G*H),
``W_hh`` (H, G*H), ``b_ih`` and ``b_hh`` (G*H,), stored (in, out) like the rest
of the book, so one step's gate pre-activations are ``x @ W_ih + b_ih + h @ W_hh
+ b_hh``. The gate blocks follow PyTorch's order, LSTM (i, f, g, o) and GRU
(r, z, n). PyTorch keeps the transposes (``weight_ih_l0 = W_ih.T``); the torch
backend transposes when it copies, so ``m_torch.set_weights(m_np.get_weights())``
moves a model across backends.

**Initialisation** is shared: every backend starts from
:func:`dlbook.rnn.init.init_rnn_weights` (PyTorch's U(-1/sqrt(H), 1/sqrt(H)),
drawn with NumPy), so ``LSTM(3, 5, seed=0)`` is the same model in all three.

This module imports neither torch nor TensorFlow; its checks are shared by the
backends, so that a mistake gets the same message in all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from dlbook.rnn.init import (
    GATE_NAMES,
    GATES,
    KINDS,
    WEIGHT_NAMES,
    check_kind,
    check_size,
    init_rnn_weights,
    weight_shapes,
)

CLASS_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def backend(name: str) -> ModuleType:
    """The ``dlbook.rnn`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("rnn", name)


def check_weights(
    weights: Mapping[str, Any], kind: str, input_size: int, hidden_size: int
) -> dict[str, np.ndarray]:
    """Check a canonical weight dict (names and shapes) and return its arrays as NumPy.

    Nothing is copied into a model before every name and shape has passed, so a
    failed ``set_weights`` leaves the model as it was.
    """
    kind = check_kind(kind)
    shapes = weight_shapes(kind, input_size, hidden_size)
    cls = CLASS_NAMES[kind]
    if not isinstance(weights, Mapping):
        raise TypeError(f"set_weights takes a dict {{{', '.join(shapes)}}}, got {type(weights)}.")
    unknown = sorted(set(weights) - set(shapes))
    if unknown:
        raise ValueError(
            f"set_weights: unknown weight names {unknown}; an {cls} has exactly "
            f"{list(shapes)} (PyTorch's weight_ih_l0 is W_ih.T, weight_hh_l0 is W_hh.T)."
        )
    out = {}
    for key, shape in shapes.items():
        got = np.shape(weights[key]) if key in weights else None
        if got != shape:
            hint = ""
            if got is not None and got[::-1] == shape and len(shape) == 2:
                hint = " It looks transposed: the book stores (in, out), PyTorch (out, in)."
            raise ValueError(
                f"set_weights: expected {key} of shape {shape} for {cls}(input_size="
                f"{input_size}, hidden_size={hidden_size}), got {got}.{hint}"
            )
        out[key] = np.asarray(weights[key])
    return out


def check_input_shape(shape: tuple[int, ...], kind: str, input_size: int) -> tuple[int, int]:
    """Return (B, T) for an input of ``shape``, which must be (B, T, D) with D = input_size."""
    shape, cls = tuple(int(s) for s in shape), CLASS_NAMES[check_kind(kind)]
    if len(shape) != 3:
        raise ValueError(
            f"{cls} expects x of shape (B, T, D) = (batch, time, {input_size}), batch first, "
            f"but got a {len(shape)}-D input of shape {shape}. A single sequence of shape "
            "(T, D) needs a batch axis: x[None]."
        )
    B, T, D = shape
    if D != input_size:
        raise ValueError(
            f"{cls} was built with input_size={input_size}, so x must have shape "
            f"(B, T, {input_size}), but got {shape}: the last axis holds the features of "
            "one time step."
        )
    if B < 1 or T < 1:
        raise ValueError(f"{cls} needs at least one sequence and one time step, got {shape}.")
    return B, T


def state_parts(kind: str, state: Any, what: str = "state") -> list[Any]:
    """Split a state into its parts: ``[h]`` for RNN and GRU, ``[h, c]`` for the LSTM.

    Only the structure is checked here; :func:`check_state_shapes` checks the shapes.
    """
    kind = check_kind(kind)
    cls = CLASS_NAMES[kind]
    if kind == "lstm":
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            got = f"shape {tuple(state.shape)}" if hasattr(state, "shape") else repr(state)[:60]
            raise ValueError(
                f"An LSTM's {what} is a tuple (h, c) of two arrays of shape (B, H), got "
                f"{type(state).__name__} {got}: the LSTM carries a cell state c next to h."
            )
        return list(state)
    if isinstance(state, (tuple, list)):
        raise ValueError(
            f"A {cls}'s {what} is a single array h of shape (B, H), got a "
            f"{type(state).__name__} of length {len(state)}; only the LSTM carries a pair (h, c)."
        )
    return [state]


def check_state_shapes(
    kind: str, shapes: list[tuple[int, ...]], batch: int, hidden_size: int, what: str = "state"
) -> None:
    """Each part of a state must be (B, H); explain PyTorch's extra (num_layers, ...) axis."""
    names = ("h", "c") if check_kind(kind) == "lstm" else ("h",)
    want = (batch, hidden_size)
    for name, shape in zip(names, shapes, strict=True):
        shape = tuple(int(s) for s in shape)
        if shape != want:
            hint = ""
            if shape == (1, *want):
                hint = " PyTorch's own modules use (num_layers, B, H); here drop that axis: h[0]."
            raise ValueError(
                f"{CLASS_NAMES[kind]} {what}: {name} must have shape (B, H) = {want} for an "
                f"input of batch size {batch}, got {shape}.{hint}"
            )


def truncated_bptt_segments(T: int, k: int) -> list[tuple[int, int]]:
    """Split time steps 0..T-1 into consecutive chunks of ``k``: ``[(0, k), (k, 2k), ...]``.

    The last chunk is shorter when k does not divide T; ``k >= T`` gives one chunk,
    i.e. full backpropagation through time.
    """
    T, k = check_size(T, "T (the number of time steps)"), check_size(k, "k (steps per chunk)")
    return [(start, min(start + k, T)) for start in range(0, T, k)]


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "RNN",
    "LSTM",
    "GRU",
    "sequence_loss_and_grads",
)

__all__ = [
    "SHARED_API",
    "CLASS_NAMES",
    "GATES",
    "GATE_NAMES",
    "KINDS",
    "WEIGHT_NAMES",
    "backend",
    "check_input_shape",
    "check_kind",
    "check_size",
    "check_state_shapes",
    "check_weights",
    "init_rnn_weights",
    "state_parts",
    "truncated_bptt_segments",
    "weight_shapes",
]
