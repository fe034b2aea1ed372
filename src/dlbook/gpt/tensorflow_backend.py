"""A GPT on TensorFlow: the API of ``numpy_backend``, with ``tf.GradientTape``.

Shape legend: B = batch, T = time, C = n_embd, H = n_head, D = C / H, V = vocab size.

The weights are ``tf.Variable`` objects under their canonical names and layout
(``self.weights_by_name``), so ``get_weights`` / ``set_weights`` need no
transposing. Attention is written out, softmax(Q K^T / sqrt D) V with the causal
mask, as in :mod:`dlbook.attention.numpy_backend`.

``loss_and_grads`` checks its inputs in Python, then runs the forward and backward
pass as one ``tf.function`` graph: in eager mode each of the step's few hundred small
ops pays Python dispatch, which made the step about twice as slow. The graph takes
the weights as arguments, so every model of one config and dtype shares one trace,
and the layers read B and T with ``tf.shape``, so it serves every (B, T)
(``reduce_retracing``).
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


def _proj(w: dict[str, Any], x: Any, name: str) -> Any:
    """x (B, T, in) @ W (in, out) + b, the bias only when the config has biases."""
    W, b = w[name.replace("#", "W")], w.get(name.replace("#", "b"))
    # tensordot reshapes to one 2-D matmul (B*T, in) @ (in, out): the gradient of
    # tf.einsum("...i,io->...o") takes a slow general path in TF 2.21 (~30x slower)
    y = tf.tensordot(x, W, axes=1)  # (B, T, in) -> (B, T, out)
    return y if b is None else y + b


def _attention(w: dict[str, Any], p: str, x: Any, H: int) -> Any:
    """Causal multi-head self-attention of block ``p`` on x (B, T, C) -> (B, T, C)."""
    B, T, C = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]  # B, T may differ between calls
    D = C // H

    def heads(t: Any) -> Any:
        return tf.transpose(tf.reshape(t, (B, T, H, D)), (0, 2, 1, 3))  # (B, H, T, D)

    q, k, v = (heads(_proj(w, x, f"{p}#_{n}")) for n in "qkv")
    scale = tf.constant(1.0 / math.sqrt(D), x.dtype)  # in x's precision, never float32 first
    scores = tf.matmul(q, k, transpose_b=True) * scale  # (B, H, T, T)
    mask = tf.linalg.band_part(tf.ones((T, T), tf.bool), -1, 0)  # (T, T) lower triangle
    scores = tf.where(mask, scores, tf.constant(-np.inf, x.dtype))  # (B, H, T, T)
    y = tf.matmul(tf.nn.softmax(scores, axis=-1), v)  # (B, H, T, D)
    y = tf.reshape(tf.transpose(y, (0, 2, 1, 3)), (B, T, C))  # (B, T, C)
    return _proj(w, y, f"{p}#_o")


def _logits(w: dict[str, Any], ids: Any, config: GPTConfig) -> Any:
    """Checked ids (B, T) -> logits (B, T, V), from the weights ``w`` (canonical names)."""
    T = tf.shape(ids)[1]
    x = tf.gather(w["tok_emb"], ids) + w["pos_emb"][:T]  # (B, T, C)
    for i in range(config.n_layer):
        p = f"h{i}."
        a = _layer_norm(x, w[p + "ln1.gamma"], w[p + "ln1.beta"])
        x = x + _attention(w, p + "attn.", a, config.n_head)
        m = _layer_norm(x, w[p + "ln2.gamma"], w[p + "ln2.beta"])
        x = x + _proj(w, _gelu(_proj(w, m, p + "mlp.#_1")), p + "mlp.#_2")
    x = _layer_norm(x, w["ln_f.gamma"], w["ln_f.beta"])
    return tf.tensordot(x, w["head.W"], axes=1)  # (B, T, C) -> (B, T, V)


class GPT(tf.Module):
    """A pre-LayerNorm GPT as a ``tf.Module``, initialised like every backend."""

    def __init__(self, config: GPTConfig, *, seed: int = 0, dtype: str = "float32") -> None:
        super().__init__(name="gpt")
        self.config = config
        w = init_weights(config, seed=seed, dtype=str(dtype))
        self.weights_by_name = {k: tf.Variable(v, name=k.replace(".", "/")) for k, v in w.items()}

    def __call__(self, ids: Any) -> Any:
        """ids (B, T) -> logits (B, T, V)."""
        if not tf.is_tensor(ids) or tf.executing_eagerly():  # a graph tensor has no values yet
            ids = check_ids(ids.numpy() if tf.is_tensor(ids) else ids, self.config)  # (B, T)
        return _logits(self.weights_by_name, tf.convert_to_tensor(ids), self.config)

    forward = __call__

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight as NumPy arrays under the canonical names."""
        return {k: self.weights_by_name[k].numpy().copy() for k in weight_shapes(self.config)}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights (names and shapes checked before any copy)."""
        check_weights(weights, self.config)
        for k, var in self.weights_by_name.items():
            var.assign(np.asarray(weights[k], dtype=var.dtype.as_numpy_dtype))


@tf.function(jit_compile=False, reduce_retracing=True)
def _loss_and_grads_graph(
    w: dict[str, Any], ids: Any, targets: Any, config: GPTConfig
) -> tuple[Any, dict[str, Any]]:
    """The traced step on checked ids and targets (B, T): the mean cross-entropy and
    the gradient of every weight. One graph per config and dtype, shared by every model."""
    with tf.GradientTape() as tape:
        tape.watch(w)
        logits = _logits(w, ids, config)  # (B, T, V)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
    grads = tape.gradient(loss, w)
    return loss, {k: tf.convert_to_tensor(g) for k, g in grads.items()}  # embedding rows: dense


def loss_and_grads(model: GPT, ids: Any, targets: Any) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over all B*T predictions, and every gradient (canonical names)."""
    ids = check_ids(ids, model.config)  # (B, T), checked here: the graph cannot say why
    targets = check_targets(targets, ids.shape, model.config)  # (B, T)
    w = {k: model.weights_by_name[k] for k in weight_shapes(model.config)}
    loss, grads = _loss_and_grads_graph(w, tf.constant(ids), tf.constant(targets), model.config)
    return float(loss), {k: grads[k].numpy() for k in w}
