"""Gradient clipping on lists of NumPy arrays, as ``torch.nn.utils`` defines it.

Both functions return new arrays and leave their input alone; hand the result
to any backend's ``apply``. ``tests/optim/test_clipping.py`` compares them with
``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def clip_grad_norm(
    grads: Sequence[np.ndarray], max_norm: float, eps: float = 1e-6, norm_type: float = 2.0
) -> tuple[list[np.ndarray], float]:
    """Rescale all gradients together so that their joint norm is at most ``max_norm``.

    The gradients are treated as one long vector g::

        total_norm = |g|_p = (sum over all entries of |g|^p)^(1/p)    p = norm_type (inf: max)
        clip_coef  = max_norm / (total_norm + eps)
        g <- clip_coef g     only when clip_coef < 1

    The direction of g is kept; only its length shrinks. Returns the clipped
    gradients and ``total_norm`` measured *before* clipping, as torch does
    (torch hard-codes eps = 1e-6).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm!r}.")
    grads = [np.asarray(g) for g in grads]
    if not grads:
        return [], 0.0
    if math.isinf(norm_type):
        total_norm = max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    else:
        norms = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads])  # per array
        total_norm = float(np.linalg.norm(norms, ord=norm_type))  # = norm of all entries
    clip_coef = max_norm / (total_norm + eps)
    if clip_coef < 1:
        return [g * clip_coef for g in grads], total_norm
    return [g.copy() for g in grads], total_norm


def clip_grad_value(grads: Sequence[np.ndarray], clip_value: float) -> list[np.ndarray]:
    """Clamp every gradient entry into [-clip_value, clip_value] (this can change g's direction)."""
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value!r}.")
    return [np.clip(np.asarray(g), -clip_value, clip_value) for g in grads]
