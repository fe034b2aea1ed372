"""LoRA on TensorFlow: the functions of ``numpy_backend``, with ``tf.GradientTape``.

Shape legend: N rows, I input width, O output width, R rank.

Only the functions: the book's TensorFlow GPT keeps its weights as named variables
with no layer objects to wrap, so the model-level helpers (``add_lora``,
``merge_lora_``, ``finetune``) exist in the torch backend only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_tensorflow
from dlbook._tf import as_tensor
from dlbook._validate import check_bias_shape
from dlbook.lora import check_alpha_rank, check_lora_shapes, init_lora

tf = import_tensorflow()


def _matmul_last(x: Any, W: Any) -> Any:
    """x (..., I) @ W (I, O) -> (..., O) as one 2-D product.

    ``tf.einsum("...i,io->...o", x, W)`` computes the same, but its gradient takes
    a slow general path in TF 2.21 (30x slower in the GPT).
    """
    rows = tf.reshape(x, (-1, W.shape[0])) @ W  # (N, O), N = product of the leading axes
    return tf.reshape(rows, tf.concat([tf.shape(x)[:-1], [W.shape[1]]], axis=0))  # (..., O)


def lora_forward(x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any = None) -> Any:
    """y = x W + b + (alpha / r) (x A) B for x (..., I), W (I, O), A (I, R), B (R, O)."""
    x, W, A, B = (as_tensor(a, validate=False) for a in (x, W, A, B))
    check_lora_shapes(tuple(W.shape), tuple(A.shape), tuple(B.shape))
    s = check_alpha_rank(A, alpha)
    low = _matmul_last(_matmul_last(x, A), B)  # (..., R) -> (..., O)
    y = _matmul_last(x, W) + s * low  # (..., O)
    if b is None:
        return y
    b = as_tensor(b, validate=False)
    check_bias_shape(tuple(b.shape), W.shape[1])
    return y + b


def merge_lora(W: Any, A: Any, B: Any, alpha: float) -> Any:
    """W' = W + (alpha / r) A B, a new (I, O) tensor; the inputs are unchanged."""
    W, A, B = (as_tensor(a, validate=False) for a in (W, A, B))
    check_lora_shapes(tuple(W.shape), tuple(A.shape), tuple(B.shape))
    return W + check_alpha_rank(A, alpha) * tf.matmul(A, B)  # (I, O)


def lora_loss_and_grads(
    x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any, d_y: Any
) -> tuple[float, dict[str, np.ndarray]]:
    """loss = sum(y * d_y) and the gradients {"A", "B", "x"} by GradientTape, as NumPy arrays."""
    x, A, B = (tf.Variable(as_tensor(a, validate=False)) for a in (x, A, B))
    with tf.GradientTape() as tape:
        y = lora_forward(x, W, A, B, alpha, b)
        loss = tf.reduce_sum(y * as_tensor(d_y, validate=False, dtype=y.dtype))
    dA, dB, dx = tape.gradient(loss, [A, B, x])
    return float(loss.numpy()), {"A": dA.numpy(), "B": dB.numpy(), "x": dx.numpy()}


__all__ = ["init_lora", "lora_forward", "lora_loss_and_grads", "merge_lora"]
