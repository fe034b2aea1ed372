"""Attention from scratch in NumPy, each forward next to its backward.

Shape legend: B batch, H heads, T query positions, S key positions, D head
width, C = H * D model width.

The softmax and the linear maps are those of :mod:`dlbook.nn.numpy_backend`
(``softmax`` / ``softmax_backward``, ``linear`` / ``linear_backward``): attention
adds two batched matrix products around them and nothing else. Finite
differences in ``tests/attention`` check every backward pass.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_float_dtype
from dlbook.attention import (
    BIAS_NAMES,
    WEIGHT_NAMES,
    check_heads,
    check_mask_shape,
    check_model_input,
    check_qkv_shapes,
    check_weights,
    init_mha_weights,
    numpy_causal_mask,
    numpy_padding_mask,
)
from dlbook.nn.numpy_backend import linear, linear_backward, softmax, softmax_backward

causal_mask = numpy_causal_mask
padding_mask = numpy_padding_mask


def _T(x: np.ndarray) -> np.ndarray:
    """Transpose the last two axes: (..., T, S) -> (..., S, T)."""
    return np.swapaxes(x, -1, -2)


# ---------------------------------------------------------------------------
# Scaled dot-product attention: out = softmax(q k^T * scale) v
# ---------------------------------------------------------------------------


def attention_forward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None, scale: float | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (out (..., T, Dv), cache) for q (..., T, D), k (..., S, D), v (..., S, Dv).

    A = q k^T * scale (..., T, S); masked entries (mask False) become -inf; W =
    softmax(A) over S; out = W v. A row with no allowed key gets W = 0 (out = 0)
    instead of the NaN of 0/0.
    """
    q, k, v = as_float_array(q, "q"), as_float_array(k, "k"), as_float_array(v, "v")
    _, _, D = check_qkv_shapes(q.shape, k.shape, v.shape)
    # a Python float: np.sqrt would give a float64 scalar, which promotes float32 arrays
    scale = 1.0 / math.sqrt(D) if scale is None else float(scale)
    scores = (q @ _T(k)) * scale  # (..., T, S)
    empty = None
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}.")
        check_mask_shape(mask.shape, scores.shape)
        allowed = np.broadcast_to(mask, scores.shape)  # (..., T, S)
        empty = ~allowed.any(axis=-1, keepdims=True)  # (..., T, 1) rows with nothing allowed
        scores = np.where(allowed, scores, -np.inf)
        scores = np.where(empty, 0.0, scores)  # keep softmax finite on empty rows
    weights = softmax(scores, axis=-1)  # (..., T, S)
    if empty is not None:
        weights = np.where(empty, 0.0, weights)
    out = weights @ v  # (..., T, Dv)
    return out, {"q": q, "k": k, "v": v, "weights": weights, "scale": scale}


def attention_backward(
    d_out: np.ndarray, cache: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dq, dk, dv) given d_out = dL/d(out) (..., T, Dv) and the forward cache.

    Walk the forward backwards, with W the weights, A the scaled scores, O = out:

    * O = W V, a matrix product:      dV = W^T dO (..., S, Dv),  dW = dO V^T (..., T, S)
    * W = softmax(A) row by row:      dA = softmax_backward(W, dW) = W * (dW - sum_s dW W)
      (masked entries have W = 0, so their dA is 0: the mask needs no backward of its own)
    * A = Q K^T * scale:              dQ = dA K * scale (..., T, D),
                                      dK = dA^T Q * scale (..., S, D)
    """
    q, k, v, w, scale = (cache[n] for n in ("q", "k", "v", "weights", "scale"))
    if d_out.shape != w.shape[:-1] + (v.shape[-1],):
        raise ValueError(
            f"d_out has shape {d_out.shape} but the output had shape "
            f"{w.shape[:-1] + (v.shape[-1],)}; pass dL/d(out) of the output's shape."
        )
    dv = _T(w) @ d_out  # (..., S, Dv)
    dw = d_out @ _T(v)  # (..., T, S)
    ds = softmax_backward(w, dw, axis=-1)  # (..., T, S)
    dq = (ds @ k) * scale  # (..., T, D)
    dk = (_T(ds) @ q) * scale  # (..., S, D)
    return dq, dk, dv


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None, scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q k^T * scale + mask) v: returns (out (..., T, Dv), weights (..., T, S))."""
    out, cache = attention_forward(q, k, v, mask, scale)
    return out, cache["weights"]


# ---------------------------------------------------------------------------
# Heads: (B, T, C) <-> (B, H, T, D). Both maps only move numbers, so each one's
# backward is the other one applied to the gradient.
# ---------------------------------------------------------------------------


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """(B, T, C) -> (B, H, T, D): feature h * D + d of x becomes feature d of head h."""
    if np.ndim(x) != 3:
        raise ValueError(f"split_heads takes x of shape (B, T, C), got shape {np.shape(x)}.")
    B, T, C = x.shape
    _, H, D = check_heads(C, n_heads)
    x = x.reshape(B, T, H, D)  # (B, T, H, D)
    return x.transpose(0, 2, 1, 3)  # (B, H, T, D)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(B, H, T, D) -> (B, T, C): the inverse of :func:`split_heads`."""
    if np.ndim(x) != 4:
        raise ValueError(f"merge_heads takes x of shape (B, H, T, D), got shape {np.shape(x)}.")
    B, H, T, D = x.shape
    x = x.transpose(0, 2, 1, 3)  # (B, T, H, D)
    return x.reshape(B, T, H * D)  # (B, T, C)


def split_heads_backward(d_out: np.ndarray) -> np.ndarray:
    """dL/dx (B, T, C) from dL/d(split) (B, H, T, D): split is a permutation, undo it."""
    return merge_heads(d_out)


def merge_heads_backward(d_out: np.ndarray, n_heads: int) -> np.ndarray:
    """dL/dx (B, H, T, D) from dL/d(merged) (B, T, C)."""
    return split_heads(d_out, n_heads)


# ---------------------------------------------------------------------------
# Multi-head attention
# ---------------------------------------------------------------------------


def _linear3(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """x W + b for x (B, T, C): :func:`linear` on the (B * T, C) rows (b None: no bias)."""
    B, T, C = x.shape
    rows = x.reshape(B * T, C)  # (B*T, C)
    y = rows @ W if b is None else linear(rows, W, b)  # (B*T, C')
    return y.reshape(B, T, W.shape[1])  # (B, T, C')


def _linear3_backward(
    x: np.ndarray, W: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx (B, T, C), dW, db) for y = x W + b with x (B, T, C)."""
    B, T, C = x.shape
    dx, dW, db = linear_backward(x.reshape(B * T, C), W, g.reshape(B * T, -1))
    return dx.reshape(B, T, C), dW, db


class MultiHeadAttention:
    """Multi-head attention with explicit ``forward`` and ``backward`` (Vaswani et al., 2017).

    ``Q = x_q W_q + b_q``, ``K = x_kv W_k + b_k``, ``V = x_kv W_v + b_v``, each (B, S, C), is
    split into H heads of width D, attended head by head, merged back to (B, T, C)
    and mixed by W_o: out = merge(attention(Q_h, K_h, V_h)) W_o + b_o.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        seed: int = 0,
        dtype: str = "float32",
        bias: bool = True,
    ) -> None:
        self.d_model, self.n_heads, self.d_head = check_heads(d_model, n_heads)  # C, H, D
        self.bias = bool(bias)
        self.params = init_mha_weights(d_model, seed, check_float_dtype(dtype), bias=self.bias)
        self.grads = {k: np.zeros_like(p) for k, p in self.params.items()}
        self.last_weights: np.ndarray | None = None  # (B, H, T, S), for plotting
        self._cache: dict[str, Any] | None = None

    def _b(self, name: str) -> np.ndarray | None:
        return self.params[name] if self.bias else None

    def forward(self, x_q: Any, x_kv: Any = None, mask: Any = None) -> np.ndarray:
        """x_q (B, T, C) [, x_kv (B, S, C)] -> (B, T, C); x_kv=None is self-attention."""
        p, H, dtype = self.params, self.n_heads, self.params["W_q"].dtype
        x_q = as_float_array(x_q, "x_q").astype(dtype, copy=False)
        check_model_input(x_q.shape, self.d_model, "x_q")
        self_attn = x_kv is None
        x_kv = x_q if self_attn else as_float_array(x_kv, "x_kv").astype(dtype, copy=False)
        check_model_input(x_kv.shape, self.d_model, "x_kv")
        if x_kv.shape[0] != x_q.shape[0]:
            raise ValueError(f"x_q {x_q.shape} and x_kv {x_kv.shape} need the same batch size B.")
        q = split_heads(_linear3(x_q, p["W_q"], self._b("b_q")), H)  # (B, H, T, D)
        k = split_heads(_linear3(x_kv, p["W_k"], self._b("b_k")), H)  # (B, H, S, D)
        v = split_heads(_linear3(x_kv, p["W_v"], self._b("b_v")), H)  # (B, H, S, D)
        heads, att_cache = attention_forward(q, k, v, mask)  # (B, H, T, D)
        merged = merge_heads(heads)  # (B, T, C)
        self.last_weights = att_cache["weights"]  # (B, H, T, S)
        self._cache = {"x_q": x_q, "x_kv": x_kv, "self": self_attn, "att": att_cache, "m": merged}
        return _linear3(merged, p["W_o"], self._b("b_o"))  # (B, T, C)

    __call__ = forward

    def backward(self, d_out: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """dL/dx (B, T, C) for self-attention, (dx_q, dx_kv) for cross-attention.

        Gradients of the weights are *added* to ``self.grads`` (call :meth:`zero_grad`).
        """
        if self._cache is None:
            raise RuntimeError("Call forward before backward: backward needs the cached inputs.")
        c, p = self._cache, self.params
        d_merged, dW, db = _linear3_backward(c["m"], p["W_o"], d_out)  # (B, T, C)
        self._accumulate("o", dW, db)
        d_heads = merge_heads_backward(d_merged, self.n_heads)  # (B, H, T, D)
        dq, dk, dv = attention_backward(d_heads, c["att"])  # (B, H, T|S, D)
        dx_q, dW, db = _linear3_backward(c["x_q"], p["W_q"], split_heads_backward(dq))
        self._accumulate("q", dW, db)
        dx_kv = np.zeros_like(c["x_kv"])  # (B, S, C): x_kv feeds both K and V
        for name, d in (("k", dk), ("v", dv)):
            dx, dW, db = _linear3_backward(c["x_kv"], p[f"W_{name}"], split_heads_backward(d))
            self._accumulate(name, dW, db)
            dx_kv += dx
        return dx_q + dx_kv if c["self"] else (dx_q, dx_kv)

    def _accumulate(self, name: str, dW: np.ndarray, db: np.ndarray) -> None:
        self.grads[f"W_{name}"] += dW  # accumulate, like PyTorch's .grad
        if self.bias:
            self.grads[f"b_{name}"] += db

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0.0)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights in the canonical layout ``{"W_q": (C, C), ..., "b_o": (C,)}``."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (all names and shapes checked before any copy)."""
        check_weights(weights, self.d_model, self.bias)
        for key, target in self.params.items():
            target[...] = weights[key]

    def get_grads(self) -> dict[str, np.ndarray]:
        """The accumulated gradients, in the layout of :meth:`get_weights`."""
        return {k: v.copy() for k, v in self.grads.items()}


def mha_loss_and_grads(
    model: MultiHeadAttention, x: Any, mask: Any, d_out: np.ndarray
) -> tuple[float, dict[str, np.ndarray], Any]:
    """loss = sum(out * d_out) (a linear probe, so dL/d(out) = d_out), its grads and dx.

    ``x`` is x (B, T, C) for self-attention or a pair (x_q, x_kv) for
    cross-attention, in which case dx is the pair (dx_q, dx_kv).
    """
    x_q, x_kv = x if isinstance(x, tuple) else (x, None)
    model.zero_grad()
    out = model.forward(x_q, x_kv, mask)
    d_out = np.asarray(d_out, dtype=out.dtype)
    loss = float(np.sum(out * d_out))
    dx = model.backward(d_out)
    return loss, model.get_grads(), dx


__all__ = [
    "BIAS_NAMES",
    "WEIGHT_NAMES",
    "MultiHeadAttention",
    "attention_backward",
    "attention_forward",
    "causal_mask",
    "init_mha_weights",
    "merge_heads",
    "merge_heads_backward",
    "mha_loss_and_grads",
    "padding_mask",
    "scaled_dot_product_attention",
    "split_heads",
    "split_heads_backward",
]
