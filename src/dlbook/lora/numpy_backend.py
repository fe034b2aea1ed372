"""LoRA from scratch in NumPy: the forward next to its hand-written backward.

Shape legend: N rows (batch times positions), I input width (in), O output width
(out), R rank.

Only A and B are trained, so the backward returns their gradients and the gradient
of the input (for the layers below); W and b are frozen and get none.
``tests/lora`` checks :func:`lora_backward` by finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array, check_bias_shape
from dlbook.lora import check_alpha_rank, check_lora_shapes, init_lora


def _check(x: Any, W: Any, A: Any, B: Any) -> tuple[np.ndarray, ...]:
    x, W, A, B = (as_float_array(a, n) for a, n in ((x, "x"), (W, "W"), (A, "A"), (B, "B")))
    check_lora_shapes(W.shape, A.shape, B.shape)
    if x.ndim < 1 or x.shape[-1] != W.shape[0]:
        raise ValueError(
            f"x has shape {x.shape} but W has shape {W.shape}: x needs {W.shape[0]} features "
            "on its last axis, one per row of W."
        )
    return x, W, A, B


def lora_forward(x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any = None) -> np.ndarray:
    """y = x W + b + (alpha / r) (x A) B for x (..., I), W (I, O), A (I, R), B (R, O).

    The low-rank path multiplies by A first, (x A) is (..., R), so it costs
    R (I + O) multiply-adds per row instead of I * O.
    """
    x, W, A, B = _check(x, W, A, B)
    s = check_alpha_rank(A, alpha)
    y = x @ W + s * ((x @ A) @ B)  # (..., O): base path + low-rank path through (..., R)
    if b is None:
        return y
    b = as_float_array(b, "b")
    check_bias_shape(b.shape, W.shape[1])
    return y + b


def lora_backward(
    x: Any, W: Any, A: Any, B: Any, alpha: float, d_y: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dA, dB) for y = x W + b + s (x A) B, given d_y = dL/dy (..., O).

    With u = x A (the rank-R bottleneck)::

        dB = s u^T d_y                  (R, O)
        du = s d_y B^T                  (..., R)
        dA = x^T du                     (I, R)
        dx = d_y W^T + du A^T           (..., I): the frozen path and the adapter's

    Leading axes of x are flattened into rows for dA and dB (their sum over rows).
    """
    x, W, A, B = _check(x, W, A, B)
    s = check_alpha_rank(A, alpha)
    d_y = as_float_array(d_y, "d_y")
    if d_y.shape != x.shape[:-1] + (W.shape[1],):
        raise ValueError(
            f"d_y has shape {d_y.shape} but y has shape {x.shape[:-1] + (W.shape[1],)}; "
            "pass dL/dy, one entry per output."
        )
    x2 = x.reshape(-1, x.shape[-1])  # (N, I)
    g2 = d_y.reshape(-1, d_y.shape[-1])  # (N, O)
    u = x2 @ A  # (N, R)
    dB = s * u.T @ g2  # (R, O)
    du = s * g2 @ B.T  # (N, R)
    dA = x2.T @ du  # (I, R)
    dx = g2 @ W.T + du @ A.T  # (N, I)
    return dx.reshape(x.shape), dA, dB


def merge_lora(W: Any, A: Any, B: Any, alpha: float) -> np.ndarray:
    """W' = W + (alpha / r) A B, a new (I, O) array: x W' = x W + s (x A) B, one matmul."""
    W, A, B = (as_float_array(a, n) for a, n in ((W, "W"), (A, "A"), (B, "B")))
    check_lora_shapes(W.shape, A.shape, B.shape)
    return W + check_alpha_rank(A, alpha) * (A @ B)  # (I, O)


def lora_loss_and_grads(
    x: Any, W: Any, A: Any, B: Any, alpha: float, b: Any, d_y: Any
) -> tuple[float, dict[str, np.ndarray]]:
    """loss = sum(y * d_y) (a linear probe, so dL/dy = d_y) and {"A", "B", "x"} gradients."""
    y = lora_forward(x, W, A, B, alpha, b)
    d_y = as_float_array(d_y, "d_y")
    dx, dA, dB = lora_backward(x, W, A, B, alpha, d_y)
    return float(np.sum(y * d_y)), {"A": dA, "B": dB, "x": dx}


__all__ = ["init_lora", "lora_backward", "lora_forward", "lora_loss_and_grads", "merge_lora"]
