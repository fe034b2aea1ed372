"""Recurrent cells from scratch in NumPy, each forward next to its backward, and BPTT.

Shape legend: B = batch, T = time steps, D = input features, H = hidden units,
G = gate blocks (1 for the RNN, 4 for the LSTM, 3 for the GRU).

Weights come as the canonical dict ``W = {"W_ih": (D, G*H), "W_hh": (H, G*H),
"b_ih": (G*H,), "b_hh": (G*H,)}`` (see :mod:`dlbook.rnn.init`); one step's gate
pre-activations are ``x @ W_ih + b_ih + h @ W_hh + b_hh``, of shape (B, G*H).

**One step.** ``<cell>_cell_forward(x, state, W)`` maps x (B, D) and the state
to the new state and a cache; ``<cell>_cell_backward(d_new_state, cache)``
returns ``(dx, d_state, dW)`` by the chain rule.

**Backpropagation through time (BPTT).** Unrolled over T steps, the network is
``h_t = f(x_t, h_{t-1}; W)`` for t = 1..T, with the *same* W at every step. The
loss reaches h_t by two roads: directly, through the output at step t
(``g_t = dL/d outputs[:, t]``), and through h_{t+1}, which h_t feeds. Walking
backwards from t = T,

    dL/dh_t  = g_t + (dh_{t+1}/dh_t)^T dL/dh_{t+1}     (dL/dh_{T+1} term: d_final)
    dL/dW    = sum_t (dh_t/dW)^T dL/dh_t               (W is shared: sum over steps)
    dL/dx_t  = (dh_t/dx_t)^T dL/dh_t

and the gradient left over after step 1 is dL/dh_0, the gradient of the initial
state. Each ``(dh_{t+1}/dh_t)^T v`` is exactly one call of the cell's backward;
for the LSTM, h is the pair (h, c). ``tests/rnn/test_numpy_rnn.py`` checks every
cell and the whole of BPTT by finite differences; ``tests/rnn/test_parity_torch.py``
checks them against PyTorch's autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook._validate import as_float_array
from dlbook.nn.numpy_backend import sigmoid
from dlbook.rnn import (
    CLASS_NAMES,
    check_input_shape,
    check_size,
    check_state_shapes,
    check_weights,
    state_parts,
    truncated_bptt_segments,
)
from dlbook.rnn.init import init_rnn_weights

Weights = dict[str, np.ndarray]

# ---------------------------------------------------------------------------
# The affine part every cell shares: gi = x W_ih + b_ih, gh = h W_hh + b_hh
# ---------------------------------------------------------------------------


def _affine_backward(
    x: np.ndarray, h: np.ndarray, W: Weights, d_gi: np.ndarray, d_gh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, Weights]:
    """Backward of ``gi = x W_ih + b_ih`` and ``gh = h W_hh + b_hh``, given d_gi, d_gh (B, G*H).

    For the RNN and the LSTM the two are simply added, so d_gi = d_gh; the GRU
    multiplies part of gh by its reset gate, so its two gradients differ.
    """
    dx = d_gi @ W["W_ih"].T  # (B, G*H) @ (G*H, D) -> (B, D)
    dh = d_gh @ W["W_hh"].T  # (B, G*H) @ (G*H, H) -> (B, H)
    dW = {
        "W_ih": x.T @ d_gi,  # (D, B) @ (B, G*H) -> (D, G*H)
        "W_hh": h.T @ d_gh,  # (H, B) @ (B, G*H) -> (H, G*H)
        "b_ih": d_gi.sum(axis=0),  # (G*H,)
        "b_hh": d_gh.sum(axis=0),  # (G*H,)
    }
    return dx, dh, dW


# ---------------------------------------------------------------------------
# Vanilla RNN cell: h' = tanh(x W_ih + b_ih + h W_hh + b_hh)
# ---------------------------------------------------------------------------


def rnn_cell_forward(x: np.ndarray, h: np.ndarray, W: Weights) -> tuple[np.ndarray, tuple]:
    """One step: x (B, D), h (B, H) -> h' (B, H), and the cache backward needs."""
    a = x @ W["W_ih"] + W["b_ih"] + h @ W["W_hh"] + W["b_hh"]  # (B, H): G = 1
    h_new = np.tanh(a)  # (B, H)
    return h_new, (x, h, h_new, W)


def rnn_cell_backward(dh_new: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, Weights]:
    """Given dL/dh' (B, H): return (dL/dx, dL/dh, dL/dW).  tanh'(a) = 1 - tanh(a)^2 = 1 - h'^2."""
    x, h, h_new, W = cache
    da = dh_new * (1.0 - h_new**2)  # (B, H)
    return _affine_backward(x, h, W, da, da)


# ---------------------------------------------------------------------------
# LSTM cell: i, f, g, o = split(gates); c' = f c + i g; h' = o tanh(c')
# ---------------------------------------------------------------------------


def lstm_cell_forward(
    x: np.ndarray, state: tuple[np.ndarray, np.ndarray], W: Weights
) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """One step: x (B, D), (h, c) each (B, H) -> ((h', c'), cache).

    ``i`` (input gate) says how much of the candidate ``g`` enters the cell,
    ``f`` (forget gate) how much of the old cell survives, ``o`` (output gate)
    how much of ``tanh(c')`` is shown as h'.
    """
    h, c = state
    gates = x @ W["W_ih"] + W["b_ih"] + h @ W["W_hh"] + W["b_hh"]  # (B, 4H)
    a_i, a_f, a_g, a_o = np.split(gates, 4, axis=1)  # 4 x (B, H), PyTorch's order
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)  # (B, H) each, in (0, 1)
    g = np.tanh(a_g)  # (B, H), in (-1, 1)
    c_new = f * c + i * g  # (B, H)
    tc = np.tanh(c_new)  # (B, H)
    h_new = o * tc  # (B, H)
    return (h_new, c_new), (x, h, c, i, f, g, o, tc, W)


def lstm_cell_backward(
    d_state: tuple[np.ndarray, np.ndarray], cache: tuple
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], Weights]:
    """Given (dL/dh', dL/dc'): return (dL/dx, (dL/dh, dL/dc), dL/dW).

    c' reaches the loss directly (dc') and through h' = o tanh(c'), so
    dL/dc' in total is ``dc' + dh' o (1 - tanh(c')^2)``. sigma' = sigma (1 - sigma).
    """
    dh_new, dc_new = d_state
    x, h, c, i, f, g, o, tc, W = cache
    do = dh_new * tc  # (B, H)
    dc_total = dc_new + dh_new * o * (1.0 - tc**2)  # (B, H)
    di, df, dg = dc_total * g, dc_total * c, dc_total * i  # (B, H) each
    dc = dc_total * f  # (B, H): through c' = f c + ...
    d_gates = np.concatenate(  # (B, 4H), blocks (i, f, g, o) as in forward
        [di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g**2), do * o * (1.0 - o)], axis=1
    )
    dx, dh, dW = _affine_backward(x, h, W, d_gates, d_gates)
    return dx, (dh, dc), dW


# ---------------------------------------------------------------------------
# GRU cell: r, z gates; n = tanh(gi_n + r * gh_n); h' = (1 - z) n + z h
# ---------------------------------------------------------------------------


def gru_cell_forward(x: np.ndarray, h: np.ndarray, W: Weights) -> tuple[np.ndarray, tuple]:
    """One step: x (B, D), h (B, H) -> h' (B, H), with PyTorch's equations.

    The reset gate multiplies ``h W_hn + b_hn`` *after* the matrix product (as in
    PyTorch and cuDNN, not in the original paper), which is why the input and the
    hidden contributions are kept apart here.
    """
    gi = x @ W["W_ih"] + W["b_ih"]  # (B, 3H)
    gh = h @ W["W_hh"] + W["b_hh"]  # (B, 3H)
    i_r, i_z, i_n = np.split(gi, 3, axis=1)  # 3 x (B, H), PyTorch's order (r, z, n)
    h_r, h_z, h_n = np.split(gh, 3, axis=1)  # 3 x (B, H)
    r = sigmoid(i_r + h_r)  # (B, H) reset gate
    z = sigmoid(i_z + h_z)  # (B, H) update gate
    n = np.tanh(i_n + r * h_n)  # (B, H) candidate
    h_new = (1.0 - z) * n + z * h  # (B, H): z = 1 keeps the old state
    return h_new, (x, h, r, z, n, h_n, W)


def gru_cell_backward(dh_new: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, Weights]:
    """Given dL/dh' (B, H): return (dL/dx, dL/dh, dL/dW)."""
    x, h, r, z, n, h_n, W = cache
    dn = dh_new * (1.0 - z)  # (B, H)
    dz = dh_new * (h - n)  # (B, H): dh'/dz = h - n
    da_n = dn * (1.0 - n**2)  # (B, H): gradient of n's pre-activation
    dr = da_n * h_n  # (B, H)
    da_r, da_z = dr * r * (1.0 - r), dz * z * (1.0 - z)  # (B, H) each
    d_gi = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H)
    d_gh = np.concatenate([da_r, da_z, da_n * r], axis=1)  # (B, 3H): r scales gh_n
    dx, dh, dW = _affine_backward(x, h, W, d_gi, d_gh)
    return dx, dh + dh_new * z, dW  # plus the direct road h' = ... + z h


CELLS: dict[str, tuple[Callable, Callable]] = {
    "rnn": (rnn_cell_forward, rnn_cell_backward),
    "lstm": (lstm_cell_forward, lstm_cell_backward),
    "gru": (gru_cell_forward, gru_cell_backward),
}


# ---------------------------------------------------------------------------
# Layers: a cell unrolled over time, with backward = BPTT
# ---------------------------------------------------------------------------


def _check_dtype(dtype: str) -> str:
    if str(dtype) not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return str(dtype)


class _Recurrent:
    """One recurrent layer, batch-first; subclasses set ``kind``."""

    kind: str = ""

    def __init__(
        self, input_size: int, hidden_size: int, *, seed: int = 0, dtype: str = "float32"
    ) -> None:
        self.input_size = check_size(input_size, "input_size")  # D
        self.hidden_size = check_size(hidden_size, "hidden_size")  # H
        self.dtype = np.dtype(_check_dtype(dtype))
        self.params = init_rnn_weights(self.kind, input_size, hidden_size, seed=seed, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._caches: list[tuple] | None = None
        self._batch = 0

    def __repr__(self) -> str:
        return (
            f"{CLASS_NAMES[self.kind]}({self.input_size}, {self.hidden_size}, dtype={self.dtype})"
        )

    # -- states: h (B, H), or (h, c) for the LSTM ---------------------------------

    def _state(self, state: Any, batch: int, what: str = "state") -> Any:
        """A checked state as arrays of the model's dtype; None means zeros."""
        H = self.hidden_size
        if state is None:
            parts = [np.zeros((batch, H), dtype=self.dtype) for _ in range(len(self._names))]
        else:
            parts = [
                as_float_array(p, what).astype(self.dtype, copy=False)
                for p in state_parts(self.kind, state, what)
            ]
            check_state_shapes(self.kind, [p.shape for p in parts], batch, H, what)
        return tuple(parts) if self.kind == "lstm" else parts[0]

    @property
    def _names(self) -> tuple[str, ...]:
        return ("h", "c") if self.kind == "lstm" else ("h",)

    def _hidden(self, state: Any) -> np.ndarray:
        return state[0] if self.kind == "lstm" else state

    # -- forward and backward ------------------------------------------------------

    def forward(self, x: Any, state: Any = None) -> tuple[np.ndarray, Any]:
        """x (B, T, D) -> outputs (B, T, H), final state; the caches are kept for backward."""
        x = as_float_array(x, "x").astype(self.dtype, copy=False)
        B, T = check_input_shape(x.shape, self.kind, self.input_size)
        state = self._state(state, B)
        cell_forward = CELLS[self.kind][0]
        outputs = np.empty((B, T, self.hidden_size), dtype=self.dtype)  # (B, T, H)
        caches = []
        for t in range(T):
            state, cache = cell_forward(x[:, t], state, self.params)  # x[:, t] is (B, D)
            outputs[:, t] = self._hidden(state)  # (B, H)
            caches.append(cache)
        self._caches, self._batch = caches, B
        return outputs, state

    __call__ = forward

    def backward(self, d_outputs: Any, d_final: Any = None) -> tuple[np.ndarray, Any]:
        """Backpropagation through time: return (dL/dx (B, T, D), dL/d initial state).

        ``d_outputs`` (B, T, H) is dL/d outputs; ``d_final`` (like the state, or
        None for zeros) is the gradient arriving at the final state from whatever
        comes after the sequence. Weight gradients are *added* to ``self.grads``
        (summed over time steps, and over calls, like torch's ``.grad``).
        """
        if self._caches is None:
            raise RuntimeError("Call forward before backward: backward needs the cached steps.")
        B, T = self._batch, len(self._caches)
        d_outputs = self._d_outputs(d_outputs, B, T)
        d_state = self._state(d_final, B, "d_final")  # dL/dh_T (and dL/dc_T)
        cell_backward = CELLS[self.kind][1]
        dx = np.empty((B, T, self.input_size), dtype=np.result_type(self.dtype, d_outputs))
        for t in reversed(range(T)):
            if self.kind == "lstm":  # h_t feeds output t and step t+1: add both roads
                d_state = (d_state[0] + d_outputs[:, t], d_state[1])
            else:
                d_state = d_state + d_outputs[:, t]  # (B, H)
            dx[:, t], d_state, dW = cell_backward(d_state, self._caches[t])  # now dL/dh_{t-1}
            for key, g in dW.items():
                self.grads[key] += g  # the same W at every step: gradients add up
        return dx, d_state

    def _d_outputs(self, d_outputs: Any, B: int, T: int) -> np.ndarray:
        """dL/d outputs as an array, which must have the outputs' shape (B, T, H)."""
        d_outputs = as_float_array(d_outputs, "d_outputs")
        if d_outputs.shape != (B, T, self.hidden_size):
            raise ValueError(
                f"d_outputs must have the shape of the outputs, (B, T, H) = "
                f"{(B, T, self.hidden_size)}, got {d_outputs.shape}."
            )
        return d_outputs

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def get_grads(self) -> dict[str, np.ndarray]:
        """Copies of the accumulated gradients, in the canonical layout."""
        return {k: v.copy() for k, v in self.grads.items()}

    # -- weights in the canonical layout --------------------------------------------

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of ``{"W_ih": (D, G*H), "W_hh": (H, G*H), "b_ih": (G*H,), "b_hh": (G*H,)}``."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load weights in the canonical layout (all names and shapes checked before any copy)."""
        checked = check_weights(weights, self.kind, self.input_size, self.hidden_size)
        for key, value in checked.items():
            self.params[key][...] = value  # in place: caches and optimizers keep their views


class RNN(_Recurrent):
    """A vanilla (Elman) RNN layer: ``h_t = tanh(x_t W_ih + b_ih + h_{t-1} W_hh + b_hh)``."""

    kind = "rnn"


class LSTM(_Recurrent):
    """A long short-term memory layer; its state is the pair (h, c)."""

    kind = "lstm"


class GRU(_Recurrent):
    """A gated recurrent unit layer, with PyTorch's placement of the reset gate."""

    kind = "gru"


# ---------------------------------------------------------------------------
# The shared API, and truncated BPTT
# ---------------------------------------------------------------------------


def _probe(model: _Recurrent, outputs: np.ndarray, final: Any, d_out: Any, d_fin: Any) -> float:
    """The linear probe loss sum(outputs * d_outputs) + sum(final * d_final), part by part."""
    finals = final if model.kind == "lstm" else (final,)
    d_finals = d_fin if model.kind == "lstm" else (d_fin,)
    loss = np.sum(outputs * d_out)
    return float(loss + sum(np.sum(a * b) for a, b in zip(finals, d_finals, strict=True)))


def sequence_loss_and_grads(
    model: _Recurrent, x: Any, state: Any, d_outputs: Any, d_final: Any
) -> tuple[float, dict[str, np.ndarray], np.ndarray, Any]:
    """Loss ``sum(outputs * d_outputs) + sum(final * d_final)`` and (grads, dx, dstate).

    A *linear* probe of the outputs: its gradient with respect to them is
    exactly ``d_outputs`` (and ``d_final``), so this is one backward pass with
    those upstream gradients. ``state=None`` starts from zeros (dstate is still
    returned); ``d_final=None`` means zeros.
    """
    model.zero_grad()
    outputs, final = model.forward(x, state)
    B, T, _ = outputs.shape
    d_outputs, d_fin = model._d_outputs(d_outputs, B, T), model._state(d_final, B, "d_final")
    loss = _probe(model, outputs, final, d_outputs, d_fin)
    dx, dstate = model.backward(d_outputs, d_fin)
    return loss, model.get_grads(), dx, dstate


def bptt_truncated_grads(
    model: _Recurrent, x: Any, state: Any, d_outputs: Any, k: int
) -> dict[str, np.ndarray]:
    """Weight gradients of ``sum(outputs * d_outputs)`` by truncated BPTT in chunks of k steps.

    The sequence is cut into chunks (:func:`dlbook.rnn.truncated_bptt_segments`).
    Each chunk starts from the final state of the previous one, so the *forward*
    pass is exactly the full one; but each chunk is backpropagated alone, with no
    gradient entering from the chunk after it. That is PyTorch's
    ``state = tuple(s.detach() for s in state)`` between chunks.

    What it approximates: full BPTT sums, for every output step t, the paths
    back to every earlier step s, through the Jacobian product
    ``dh_t/dh_s = prod_{u=s+1..t} dh_u/dh_{u-1}``. Truncation keeps only the
    paths with s in the same chunk as t. When those products shrink fast (the
    usual, contracting case) the dropped terms are small; the price is that
    dependencies longer than k steps cannot be learned. The gain: memory for k
    steps instead of T, and an update after every chunk. ``k >= T`` is full BPTT.
    """
    x = as_float_array(x, "x")
    B, T = check_input_shape(x.shape, model.kind, model.input_size)
    d_outputs = model._d_outputs(d_outputs, B, T)
    model.zero_grad()
    for start, stop in truncated_bptt_segments(T, k):
        _, state = model.forward(x[:, start:stop], state)  # (B, stop - start, D) in
        model.backward(d_outputs[:, start:stop])  # d_final = 0: no gradient crosses the cut
    return model.get_grads()
