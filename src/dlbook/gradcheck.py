"""Finite-difference gradient checking: the referee of every hand-written backward pass.

For a scalar function L(theta), the central difference

    dL/dtheta_i ~ (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)

has error O(eps^2). With eps = 1e-6 in float64, a correct gradient agrees to
about 1e-9 relative; a wrong one is off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of scalar ``f`` at float64 ``x``; ``x`` is restored after."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "numerical_gradient needs a float64 NumPy array: in float32 the differences "
            f"drown in round-off. Got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}."
        )
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: writing flat[i] writes x
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """``max|a - b| / max(|a|, |b|, floor)`` over all elements: scale-free agreement."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}.")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), floor)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def check_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
) -> float:
    """Raise AssertionError if ``analytic`` is not the numerical gradient; return the error."""
    err = relative_error(analytic, numerical_gradient(f, x, eps))
    if not err < tol:
        raise AssertionError(f"gradient check failed: relative error {err:.2e} >= {tol:.0e}")
    return err
