"""Loss scaling for float16 training, from scratch in NumPy (no framework needed).

float16 has 5 exponent bits and 10 mantissa bits. Its range, next to a gradient:

=======================  ==========================  ======================================
number                   value                       what happens below or above it
=======================  ==========================  ======================================
largest finite           65504 = (2 - 2^-10) 2^15    overflow to inf
smallest normal          2^-14 ~ 6.1e-5              precision drops (subnormals)
smallest subnormal       2^-24 ~ 6.0e-8              underflow: the value flushes to 0
=======================  ==========================  ======================================

Gradients of a network are often far smaller than the loss: many lie below
2^-24 and vanish when the backward pass runs in float16. **Loss scaling**
(Micikevicius et al., 2018) multiplies the loss by S = 2^k before the backward
pass, so every gradient is S times larger and stays representable; the optimizer
then divides by S in float32 (:func:`unscale_grads`) before it updates the
float32 master weights. If S is too large, a gradient overflows to inf: the step
is skipped and S is halved. After ``growth_interval`` good steps in a row, S is
doubled again (:func:`update_scale`, the rule of ``torch.amp.GradScaler``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FP16_MAX = float(np.finfo(np.float16).max)  # 65504: the largest finite float16
FP16_MIN_NORMAL = float(np.finfo(np.float16).smallest_normal)  # 2^-14 ~ 6.1e-5
FP16_MIN_SUBNORMAL = float(np.finfo(np.float16).smallest_subnormal)  # 2^-24 ~ 6.0e-8


def _check_scale(scale: Any, name: str = "scale") -> float:
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.number)):
        raise TypeError(f"{name} must be a number like 2.0**16, got {type(scale).__name__}.")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(
            f"{name} must be a positive finite number (the loss was multiplied by it), "
            f"got {scale!r}."
        )
    return float(scale)


def _check_grads(grads: Any) -> list[np.ndarray]:
    if not isinstance(grads, (list, tuple)):
        raise TypeError(
            f"grads must be a list of arrays (one per parameter), got {type(grads).__name__}. "
            "For a single array, pass [grad]."
        )
    out = []
    for i, g in enumerate(grads):
        arr = np.asarray(g)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"grads[{i}] must be an array of numbers, got dtype {arr.dtype}.")
        out.append(arr)
    return out


def unscale_grads(grads: list[np.ndarray], scale: float) -> tuple[list[np.ndarray], bool]:
    """Return (grads / scale in float32, found_inf), leaving the inputs untouched.

    Each gradient is converted to float32 *first* and divided afterwards: dividing
    in float16 would push the small gradients back below 2^-24, undoing the
    scaling. ``found_inf`` is True when any element of any gradient is inf or
    NaN, before or after unscaling; the caller must then skip the step.
    """
    arrays, scale = _check_grads(grads), _check_scale(scale)
    out, found_inf = [], False
    for g in arrays:
        found_inf |= not np.isfinite(g).all()
        with np.errstate(over="ignore", invalid="ignore"):  # reported through found_inf
            g32 = g.astype(np.float32) / np.float32(scale)  # a new array: the input is unchanged
        found_inf |= not np.isfinite(g32).all()
        out.append(g32)
    return out, bool(found_inf)


def update_scale(
    scale: float,
    found_inf: bool,
    good_steps: int,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
) -> tuple[float, int]:
    """The dynamic loss scale's next (scale, good_steps), as ``torch.amp.GradScaler.update``.

    On an overflow: (scale * backoff_factor, 0), and the step was skipped.
    Otherwise one more good step; after ``growth_interval`` of them in a row,
    (scale * growth_factor, 0); else (scale, good_steps + 1).
    """
    scale = _check_scale(scale)
    if not isinstance(found_inf, (bool, np.bool_)):
        raise TypeError(f"found_inf must be a bool (from unscale_grads), got {found_inf!r}.")
    for name, value in (("good_steps", good_steps), ("growth_interval", growth_interval)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}.")
    if good_steps < 0 or growth_interval < 1:
        raise ValueError(
            f"good_steps must be >= 0 and growth_interval >= 1, got {good_steps} and "
            f"{growth_interval}."
        )
    if _check_scale(growth_factor, "growth_factor") <= 1.0:
        raise ValueError(f"growth_factor must be > 1 (it grows the scale), got {growth_factor}.")
    if not 0.0 < _check_scale(backoff_factor, "backoff_factor") < 1.0:
        raise ValueError(f"backoff_factor must lie in (0, 1) (it shrinks), got {backoff_factor}.")
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps >= growth_interval:
        return scale * growth_factor, 0
    return scale, int(good_steps)


def flushed_to_zero(grads: list[np.ndarray], scale: float = 1.0) -> float:
    """Fraction of the nonzero gradients that become 0 when ``scale * g`` is cast to float16."""
    arrays, scale = _check_grads(grads), _check_scale(scale)
    g = np.concatenate([a.astype(np.float64).ravel() for a in arrays])  # (N,)
    nonzero = g != 0
    if not nonzero.any():
        return 0.0
    lost = (scale * g).astype(np.float16) == 0
    return float((lost & nonzero).sum() / nonzero.sum())


def overflowed(grads: list[np.ndarray], scale: float = 1.0) -> float:
    """Fraction of the gradients that become inf when ``scale * g`` is cast to float16."""
    arrays, scale = _check_grads(grads), _check_scale(scale)
    g = np.concatenate([a.astype(np.float64).ravel() for a in arrays])  # (N,)
    with np.errstate(over="ignore"):
        return float(np.isinf((scale * g).astype(np.float16)).mean()) if g.size else 0.0


def log2_magnitudes(grads: list[np.ndarray]) -> np.ndarray:
    """``log2 |g|`` of every nonzero gradient element (N,): the exponents a histogram shows."""
    g = np.concatenate([a.astype(np.float64).ravel() for a in _check_grads(grads)])
    return np.log2(np.abs(g[g != 0]))
