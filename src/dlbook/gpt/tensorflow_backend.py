"""A GPT on TensorFlow: the API of ``numpy_backend``, with ``tf.GradientTape``.

Shape legend: B = batch, T = time, C = n_embd, H = n_head, D = C / H, V = vocab size.

The weights are ``tf.Variable`` objects under their canonical names and layout
(``self.weights_by_name``), so ``get_weights`` / ``set_weights`` need no
transposing. Attention is written out, softmax(Q K^T / sqrt D) V with the causal
mask, as in :mod:`dlbook.attention.numpy_backend`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook.gpt.config import (
    GPTConfig,
    check_ids,
    check_targets,
    check_weights,
    init_weights,
    weight_shapes,
)
from dlbook.nn.tensorflow_backend import _gelu  # exact erf GELU, right in float64 too
from dlbook.normalization import DEFAULT_EPS

tf = import_tensorflow()


def _layer_norm(x: Any, gamma: Any, beta: Any) -> Any:
    """gamma (x - mean) / sqrt(var + eps) + beta over the last axis (biased variance).

    Written out rather than with ``tf.nn.moments``, whose gradient is about 3x slower.
    """
    xc = x - tf.reduce_mean(x, axis=-1, keepdims=True)  # (B, T, C) centred
    var = tf.reduce_mean(tf.square(xc), axis=-1, keepdims=True)  # (B, T, 1)
    return gamma * xc * tf.math.rsqrt(var + DEFAULT_EPS) + beta


class GPT(tf.Module):
    """A pre-LayerNorm GPT as a ``tf.Module``, initialised like every backend."""

    def __init__(self, config: GPTConfig, *, seed: int = 0, dtype: str = "float32") -> None:
        super().__init__(name="gpt")
        self.config = config
        w = init_weights(config, seed=seed, dtype=str(dtype))
        self.weights_by_name = {k: tf.Variable(v, name=k.replace(".", "/")) for k, v in w.items()}

    def _w(self, name: str) -> Any:
        return self.weights_by_name.get(name)

    def _proj(self, x: Any, name: str) -> Any:
        """x (B, T, in) @ W (in, out) + b, the bias only when the config has biases."""
        W, b = self._w(name.replace("#", "W")), self._w(name.replace("#", "b"))
        # one 2-D matmul: the gradient of tf.einsum("...i,io->...o") takes a slow general
        # path in TF 2.21 (the GPT step was ~30x slower); "bti,io->bto" is ~2x slower
        B, T, _ = x.shape
        y = tf.reshape(tf.reshape(x, (B * T, -1)) @ W, (B, T, -1))  # (B*T, in) @ W -> (B, T, out)
        return y if b is None else y + b

    def _attention(self, p: str, x: Any) -> Any:
        B, T, C = x.shape
        H = self.config.n_head
        D = C // H

        def heads(t: Any) -> Any:
            return tf.transpose(tf.reshape(t, (B, T, H, D)), (0, 2, 1, 3))  # (B, H, T, D)

        q, k, v = (heads(self._proj(x, f"{p}#_{n}")) for n in "qkv")
        scale = tf.constant(1.0 / math.sqrt(D), x.dtype)  # in x's precision, never float32 first
        scores = tf.matmul(q, k, transpose_b=True) * scale  # (B, H, T, T)
        mask = tf.linalg.band_part(tf.ones((T, T), tf.bool), -1, 0)  # (T, T) lower triangle
        scores = tf.where(mask, scores, tf.constant(-np.inf, x.dtype))  # (B, H, T, T)
        y = tf.matmul(tf.nn.softmax(scores, axis=-1), v)  # (B, H, T, D)
        y = tf.reshape(tf.transpose(y, (0, 2, 1, 3)), (B, T, C))  # (B, T, C)
        return self._proj(y, f"{p}#_o")

    def __call__(self, ids: Any) -> Any:
        """ids (B, T) -> logits (B, T, V)."""
        if not tf.is_tensor(ids) or tf.executing_eagerly():  # a graph tensor has no values yet
            ids = check_ids(ids.numpy() if tf.is_tensor(ids) else ids, self.config)  # (B, T)
        ids = tf.convert_to_tensor(ids)
        T = ids.shape[1]
        x = tf.gather(self._w("tok_emb"), ids) + self._w("pos_emb")[:T]  # (B, T, C)
        for i in range(self.config.n_layer):
            p = f"h{i}."
            a = _layer_norm(x, self._w(p + "ln1.gamma"), self._w(p + "ln1.beta"))
            x = x + self._attention(p + "attn.", a)
            m = _layer_norm(x, self._w(p + "ln2.gamma"), self._w(p + "ln2.beta"))
            x = x + self._proj(_gelu(self._proj(m, p + "mlp.#_1")), p + "mlp.#_2")
        x = _layer_norm(x, self._w("ln_f.gamma"), self._w("ln_f.beta"))
        return tf.einsum("btc,cv->btv", x, self._w("head.W"))  # (B, T, V)

    forward = __call__

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight as NumPy arrays under the canonical names."""
        return {k: self.weights_by_name[k].numpy().copy() for k in weight_shapes(self.config)}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (names and shapes checked before any copy)."""
        check_weights(weights, self.config)
        for k, var in self.weights_by_name.items():
            var.assign(np.asarray(weights[k], dtype=var.dtype.as_numpy_dtype))


def loss_and_grads(model: GPT, ids: Any, targets: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over all B*T predictions, and every gradient (canonical names)."""
    names = list(weight_shapes(model.config))
    variables = [model.weights_by_name[k] for k in names]
    with tf.GradientTape() as tape:
        logits = model(ids)  # (B, T, V)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                check_targets(targets, tuple(logits.shape[:2]), model.config), logits
            )
        )
    grads = tape.gradient(loss, variables)
    return float(loss), {
        k: tf.convert_to_tensor(g).numpy() for k, g in zip(names, grads, strict=True)
    }
