"""Attention on TensorFlow: the API of ``numpy_backend``, with GradientTape.

Shape legend: B batch, H heads, T query positions, S key positions, D head
width, C = H * D model width.

:func:`scaled_dot_product_attention` writes softmax(q k^T * scale) v out in TF
operations, so float64 is exact and the tape differentiates it.
:func:`to_keras_mha` loads the book's weights into ``keras.layers.MultiHeadAttention``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor, tf_dtype
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

tf = import_tensorflow()


def causal_mask(T: int) -> tf.Tensor:
    """bool (T, T): position t may attend to positions 0..t (lower triangle, True)."""
    return tf.constant(numpy_causal_mask(T))


def padding_mask(lengths: Any, S: int) -> tf.Tensor:
    """bool (B, 1, 1, S): key s of sequence b is real iff s < lengths[b]."""
    return tf.constant(numpy_padding_mask(np.asarray(lengths), S))


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, mask: Any = None, scale: float | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """softmax(q k^T * scale) v, written out: returns (out (..., T, Dv), weights (..., T, S))."""
    q, k, v = as_tensor(q, "q"), as_tensor(k, "k"), as_tensor(v, "v")
    check_qkv_shapes(tuple(q.shape), tuple(k.shape), tuple(v.shape))
    dtype = tf.float64 if tf.float64 in (q.dtype, k.dtype, v.dtype) else q.dtype
    q, k, v = (tf.cast(t, dtype) for t in (q, k, v))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    # tf.constant(scale, dtype), not tf.cast(scale, dtype): tf.cast would first round the
    # Python float to float32, and 1/sqrt(D) is not exact in float32 for D = 2, 3, 8, ...
    scores = tf.matmul(q, k, transpose_b=True) * tf.constant(scale, dtype)  # (..., T, S)
    if mask is None:
        weights = tf.nn.softmax(scores, axis=-1)  # (..., T, S)
        return tf.matmul(weights, v), weights  # (..., T, Dv)
    mask = tf.convert_to_tensor(mask)
    if mask.dtype != tf.bool:
        raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}.")
    check_mask_shape(tuple(mask.shape), tuple(scores.shape))
    allowed = tf.broadcast_to(mask, tf.shape(scores))  # (..., T, S)
    empty = tf.logical_not(tf.reduce_any(allowed, axis=-1, keepdims=True))  # (..., T, 1)
    scores = tf.where(allowed, scores, tf.cast(-np.inf, dtype))
    scores = tf.where(empty, tf.zeros_like(scores), scores)  # keep softmax finite
    weights = tf.nn.softmax(scores, axis=-1)
    weights = tf.where(empty, tf.zeros_like(weights), weights)  # (..., T, S)
    return tf.matmul(weights, v), weights  # (..., T, Dv)


def split_heads(x: Any, n_heads: int) -> tf.Tensor:
    """(B, T, C) -> (B, H, T, D)."""
    if len(x.shape) != 3:
        raise ValueError(f"split_heads takes x of shape (B, T, C), got shape {tuple(x.shape)}.")
    B, T, C = x.shape
    _, H, D = check_heads(C, n_heads)
    x = tf.reshape(x, (-1, T, H, D))  # (B, T, H, D)
    return tf.transpose(x, (0, 2, 1, 3))  # (B, H, T, D)


def merge_heads(x: Any) -> tf.Tensor:
    """(B, H, T, D) -> (B, T, C)."""
    if len(x.shape) != 4:
        raise ValueError(f"merge_heads takes x of shape (B, H, T, D), got shape {tuple(x.shape)}.")
    B, H, T, D = x.shape
    x = tf.transpose(x, (0, 2, 1, 3))  # (B, T, H, D)
    return tf.reshape(x, (-1, T, H * D))  # (B, T, C)


class MultiHeadAttention(tf.Module):
    """Multi-head attention holding the canonical weights as ``tf.Variable`` (in, out)."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        seed: int = 0,
        dtype: str = "float32",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.d_model, self.n_heads, self.d_head = check_heads(d_model, n_heads)  # C, H, D
        self.bias = bool(bias)
        float_dtype = tf_dtype(dtype)
        init = init_mha_weights(d_model, seed, float_dtype.name, bias=self.bias)
        self.weights_ = {k: tf.Variable(v, name=k) for k, v in init.items()}
        self.last_weights: tf.Tensor | None = None  # (B, H, T, S)

    def _proj(self, x: tf.Tensor, name: str) -> tf.Tensor:
        """x (B, T, C) @ W_name + b_name -> (B, T, C)."""
        y = tf.einsum("btc,cd->btd", x, self.weights_[f"W_{name}"])
        return y + self.weights_[f"b_{name}"] if self.bias else y

    def __call__(self, x_q: Any, x_kv: Any = None, mask: Any = None) -> tf.Tensor:
        """x_q (B, T, C) [, x_kv (B, S, C)] -> (B, T, C); x_kv=None is self-attention."""
        dtype = self.weights_["W_q"].dtype
        x_q = tf.cast(as_tensor(x_q, "x_q"), dtype)
        x_kv = x_q if x_kv is None else tf.cast(as_tensor(x_kv, "x_kv"), dtype)
        check_model_input(tuple(x_q.shape), self.d_model, "x_q")
        check_model_input(tuple(x_kv.shape), self.d_model, "x_kv")
        q = split_heads(self._proj(x_q, "q"), self.n_heads)  # (B, H, T, D)
        k = split_heads(self._proj(x_kv, "k"), self.n_heads)  # (B, H, S, D)
        v = split_heads(self._proj(x_kv, "v"), self.n_heads)  # (B, H, S, D)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, H, T, D)
        self.last_weights = weights  # (B, H, T, S)
        return self._proj(merge_heads(heads), "o")  # (B, T, C)

    forward = __call__

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of the canonical weights ``{"W_q": (C, C) (in, out), ..., "b_o": (C,)}``."""
        return {k: v.numpy().copy() for k, v in self.weights_.items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (all names and shapes checked before any copy)."""
        check_weights(weights, self.d_model, self.bias)
        for key, var in self.weights_.items():
            var.assign(np.asarray(weights[key], dtype=var.dtype.as_numpy_dtype))


def mha_loss_and_grads(
    model: MultiHeadAttention, x: Any, mask: Any, d_out: Any
) -> tuple[float, dict[str, np.ndarray], Any]:
    """loss = sum(out * d_out), its weight gradients and dx, all as NumPy arrays.

    ``x`` is x (B, T, C) or a pair (x_q, x_kv) (then dx is the pair (dx_q, dx_kv)).
    """
    dtype = model.weights_["W_q"].dtype
    xs = [tf.cast(as_tensor(a, "x"), dtype) for a in (x if isinstance(x, tuple) else (x,))]
    names = list(model.weights_)
    with tf.GradientTape() as tape:
        tape.watch(xs)
        out = model(xs[0], xs[1] if len(xs) > 1 else None, mask)
        loss = tf.reduce_sum(out * tf.cast(d_out, dtype))
    grads = tape.gradient(loss, [model.weights_[n] for n in names] + xs)
    g = {n: t.numpy() for n, t in zip(names, grads[: len(names)], strict=True)}
    dx = tuple(t.numpy() for t in grads[len(names) :])
    return float(loss.numpy()), g, dx if len(dx) > 1 else dx[0]


def to_keras_mha(model: Any) -> Any:
    """``keras.layers.MultiHeadAttention(num_heads=H, key_dim=D)`` holding ``model``'s weights.

    Keras keeps the heads as a separate kernel axis: its query/key/value kernels
    are (C, H, D) with biases (H, D), and its output kernel is (H, D, C). Output
    column h * D + d of the book's W_q is feature d of head h (``split_heads``
    reshapes (C,) -> (H, D)), so the Keras kernel is ``W_q.reshape(C, H, D)``;
    the merged features h * D + d enter W_o as rows, so the output kernel is
    ``W_o.reshape(H, D, C)``. Keras' ``attention_mask`` (B, T, S) uses True = may attend.
    """
    import keras

    w = model.get_weights()
    C, H, D = model.d_model, model.n_heads, model.d_head
    dtype = np.dtype(w["W_q"].dtype).name
    layer = keras.layers.MultiHeadAttention(
        num_heads=H, key_dim=D, use_bias=model.bias, dtype=dtype
    )
    dummy = np.zeros((1, 1, C), dtype=dtype)
    layer(dummy, dummy)  # build the kernels
    for name, dense in (("q", layer.query_dense), ("k", layer.key_dense), ("v", layer.value_dense)):
        dense.kernel.assign(w[f"W_{name}"].reshape(C, H, D))  # (C, H, D)
        if model.bias:
            dense.bias.assign(w[f"b_{name}"].reshape(H, D))  # (H, D)
    layer.output_dense.kernel.assign(w["W_o"].reshape(H, D, C))  # (H, D, C)
    if model.bias:
        layer.output_dense.bias.assign(w["b_o"])  # (C,)
    return layer


__all__ = [
    "BIAS_NAMES",
    "WEIGHT_NAMES",
    "MultiHeadAttention",
    "causal_mask",
    "init_mha_weights",
    "merge_heads",
    "mha_loss_and_grads",
    "padding_mask",
    "scaled_dot_product_attention",
    "split_heads",
    "to_keras_mha",
]
