r"""Attention, in three backends with one API (the transformer chapter).

Pick a backend module; all three export the same names::

    from dlbook.attention import numpy_backend as att_np       # explicit backward
    from dlbook.attention import torch_backend as att_torch    # torch.nn.Module
    from dlbook.attention import tensorflow_backend as att_tf  # tf.Module
    att = dlbook.attention.backend("torch")                     # the same, by name

Shape legend: B batch, H heads, T query positions, S key positions, D head
width, C = H * D model width.

Shared API (``T`` is the backend's array type: ndarray, torch.Tensor or tf.Tensor)::

    ==================================================  =========================================
    ``scaled_dot_product_attention(q, k, v, mask=None,  q (..., T, D), k (..., S, D), v (..., S, Dv)
    scale=None) -> (out, weights)``                     -> out (..., T, Dv), weights (..., T, S);
                                                        weights = softmax(q k^T * scale) with
                                                        scale = 1/sqrt(D) by default
    ``causal_mask(T)``                                  bool (T, T), lower triangular
    ``padding_mask(lengths, S)``                        bool (B, 1, 1, S): key s < lengths[b]
    ``split_heads(x, n_heads)`` / ``merge_heads(x)``    (B, T, C) <-> (B, H, T, D)
    ``init_mha_weights(d_model, seed, dtype)``          the shared initial weights (NumPy)
    ``MultiHeadAttention(d_model, n_heads, *, seed=0,   ``forward(x_q, x_kv=None, mask=None)``
    dtype="float32", bias=True)``                       -> (B, T, C); ``last_weights`` (B, H, T, S);
                                                        ``get_weights()`` / ``set_weights(w)``
    ``mha_loss_and_grads(model, x, mask, d_out)``       loss = sum(out * d_out), grads dict, dx
                                                        (NumPy arrays, for the parity tests)
    ==================================================  =========================================

The NumPy backend adds ``attention_forward`` / ``attention_backward``,
``split_heads_backward`` / ``merge_heads_backward`` and
``MultiHeadAttention.backward``. The torch backend adds the fused
``scaled_dot_product_attention_fused``, ``to_torch_mha`` and the seq2seq plug
``DotProductAttention``; the TensorFlow backend adds ``to_keras_mha``.
:mod:`dlbook.attention.positional` holds the position encodings (NumPy).

**The computation.** For one head, with queries :math:`Q` (T, D), keys :math:`K`
(S, D), values :math:`V` (S, Dv) and a mask that adds :math:`M_{ts} = -\infty`
where query t may not see key s,

.. math::

    Z = s\, Q K^\top + M, \qquad A = \operatorname{softmax}_\text{rows}(Z), \qquad
    O = A V, \qquad s = 1/\sqrt{D}.

The NumPy backend's backward pass, for an upstream gradient :math:`\bar O`:

.. math::

    \bar V = A^\top \bar O, \qquad \bar A = \bar O V^\top, \qquad
    \bar Z = A \odot \big(\bar A - \operatorname{rowsum}(\bar A \odot A)\big), \qquad
    \bar Q = s\, \bar Z K, \qquad \bar K = s\, \bar Z^\top Q.

**Masks.** A mask is boolean and broadcastable to (..., T, S); **True means "may
attend"** (PyTorch's ``F.scaled_dot_product_attention`` and Keras use the same
convention; ``torch.nn.MultiheadAttention``'s ``attn_mask`` uses the opposite).
Masked logits become -inf before the softmax. A query row with *no* allowed key
would give 0/0; every backend returns **all-zero weights** for such a row, hence
an all-zero output row and zero gradients through it, never NaN.

**Weights.** ``{"W_q", "W_k", "W_v", "W_o"}`` (C, C) stored (in, out), so
``q = x @ W_q + b_q``, and ``{"b_q", "b_k", "b_v", "b_o"}`` (C,) (absent when
``bias=False``). Output column ``h * D + d`` of ``W_q`` feeds feature ``d`` of head ``h``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from dlbook.nn.init import init_linear_weights
from dlbook.seeding import make_rng

WEIGHT_NAMES = ("W_q", "W_k", "W_v", "W_o")
BIAS_NAMES = ("b_q", "b_k", "b_v", "b_o")


def backend(name: str) -> ModuleType:
    """The ``dlbook.attention`` module of a backend: ``"numpy"``, ``"torch"`` or ``"tf"``."""
    from dlbook.backends import load_backend

    return load_backend("attention", name)


def check_heads(d_model: Any, n_heads: Any) -> tuple[int, int, int]:
    """Return (C, H, D) after checking that the model width splits evenly into heads."""
    for name, val in (("d_model", d_model), ("n_heads", n_heads)):
        if isinstance(val, (bool, np.bool_)) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}.")
    if d_model % n_heads:
        raise ValueError(
            f"d_model={d_model} is not divisible by n_heads={n_heads}: each head gets "
            f"d_model / n_heads features, so pick e.g. n_heads in "
            f"{[h for h in range(1, d_model + 1) if d_model % h == 0][:8]}."
        )
    return int(d_model), int(n_heads), int(d_model) // int(n_heads)


def check_qkv_shapes(q_shape: tuple, k_shape: tuple, v_shape: tuple) -> tuple[int, int, int]:
    """Return (T, S, D) for q (..., T, D), k (..., S, D), v (..., S, Dv), or explain the clash."""
    q_shape, k_shape, v_shape = tuple(q_shape), tuple(k_shape), tuple(v_shape)
    if min(len(q_shape), len(k_shape), len(v_shape)) < 2:
        raise ValueError(
            f"attention needs q (..., T, D), k (..., S, D), v (..., S, Dv) with at least two "
            f"axes each; got q {q_shape}, k {k_shape}, v {v_shape}."
        )
    if q_shape[-1] != k_shape[-1]:
        raise ValueError(
            f"q has shape {q_shape} but k has shape {k_shape}: the scores q k^T need the same "
            f"width D on the last axis of both ({q_shape[-1]} vs {k_shape[-1]})."
        )
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(
            f"k has shape {k_shape} but v has shape {v_shape}: every key needs one value, so "
            f"the second-to-last axes (S) must match ({k_shape[-2]} vs {v_shape[-2]})."
        )
    if not q_shape[:-2] == k_shape[:-2] == v_shape[:-2]:
        raise ValueError(
            f"q, k, v must share their leading (batch, head) axes; got q {q_shape}, "
            f"k {k_shape}, v {v_shape}."
        )
    return q_shape[-2], k_shape[-2], q_shape[-1]


def check_mask_shape(mask_shape: tuple, scores_shape: tuple) -> None:
    """A mask must broadcast to the scores (..., T, S) without growing them."""
    mask_shape, scores_shape = tuple(mask_shape), tuple(scores_shape)
    try:
        ok = np.broadcast_shapes(mask_shape, scores_shape) == scores_shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"mask has shape {mask_shape} but the scores have shape {scores_shape} (..., T, S); "
            "the mask must broadcast to them, e.g. causal_mask(T) of shape (T, T) or "
            "padding_mask(lengths, S) of shape (B, 1, 1, S)."
        )


def check_model_input(x_shape: tuple, d_model: int, name: str = "x") -> None:
    """A MultiHeadAttention(d_model) layer takes inputs of shape (B, T, d_model)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 3 or x_shape[-1] != d_model:
        raise ValueError(
            f"MultiHeadAttention(d_model={d_model}) takes {name} of shape (B, T, {d_model}), "
            f"but {name} has shape {x_shape}; add a batch axis with x[None] or check d_model."
        )


def check_weights(weights: dict, d_model: int, bias: bool) -> None:
    """All names and shapes of a canonical weight dict, checked before anything is copied."""
    names = WEIGHT_NAMES + (BIAS_NAMES if bias else ())
    for key in names:
        want = (d_model, d_model) if key.startswith("W") else (d_model,)
        got = np.shape(weights[key]) if key in weights else None
        if got != want:
            raise ValueError(f"set_weights: expected {key} of shape {want}, got {got}.")


def init_mha_weights(
    d_model: int, seed: int | np.random.Generator = 0, dtype: str = "float32", bias: bool = True
) -> dict[str, np.ndarray]:
    """The initial weights shared by all backends: W ~ N(0, 1/C) (C, C), b = 0 (C,).

    The variance 1/C keeps q, k, v at the scale of x (the book's Linear init);
    drawn in the order W_q, W_k, W_v, W_o from one generator.
    """
    rng = make_rng(seed)
    out: dict[str, np.ndarray] = {}
    for w, b in zip(WEIGHT_NAMES, BIAS_NAMES, strict=True):
        out[w], bb = init_linear_weights(d_model, d_model, rng, dtype=dtype)
        if bias:
            out[b] = bb
    return out


def numpy_causal_mask(T: int) -> np.ndarray:
    """bool (T, T): position t may attend to positions 0..t (lower triangle, True)."""
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"causal_mask(T) needs a positive int T, got {T!r}.")
    return np.tril(np.ones((T, T), dtype=bool))


def numpy_padding_mask(lengths: Any, S: int) -> np.ndarray:
    """bool (B, 1, 1, S): key s of sequence b is real iff s < lengths[b]."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"padding_mask needs lengths as integers of shape (B,), got {lengths.dtype} "
            f"{lengths.shape}."
        )
    if lengths.size and (lengths.min() < 0 or lengths.max() > S):
        raise ValueError(f"lengths must lie in [0, S={S}], got {lengths.tolist()}.")
    return (np.arange(S)[None, :] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, S)


# The names every backend module of this concept exports, with the same parameters
# (a backend may add trailing optional ones); tests/test_shared_api.py checks it.
SHARED_API = (
    "scaled_dot_product_attention",
    "causal_mask",
    "padding_mask",
    "split_heads",
    "merge_heads",
    "init_mha_weights",
    "MultiHeadAttention",
    "mha_loss_and_grads",
)

__all__ = [
    "SHARED_API",
    "BIAS_NAMES",
    "WEIGHT_NAMES",
    "backend",
    "check_heads",
    "check_mask_shape",
    "check_model_input",
    "check_qkv_shapes",
    "check_weights",
    "init_mha_weights",
    "numpy_causal_mask",
    "numpy_padding_mask",
]
