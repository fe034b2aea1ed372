"""Position information for attention, in NumPy: attention alone ignores token order.

Shape legend: T positions, C model width, D head width.

* :func:`sinusoidal_encoding` (Vaswani et al., 2017) is *added* to the embeddings.
* :func:`rope` (rotary embedding, Su et al., 2021) *rotates* q and k so that
  q . k depends on the positions only through their offset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._validate import as_float_array

BASE = 10000.0  # the wavelength scale of Vaswani et al.


def _frequencies(width: int) -> np.ndarray:
    """omega_i = 1 / 10000^(2i / width) for i = 0 .. width/2 - 1: (width // 2,)."""
    return BASE ** (-np.arange(0, width, 2) / width)


def sinusoidal_encoding(T: int, C: int) -> np.ndarray:
    """PE (T, C): PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(same).

    Every entry lies in [-1, 1]; an odd C keeps the last sine column.
    """
    for name, n in (("T", T), ("C", C)):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"sinusoidal_encoding needs a positive int {name}, got {n!r}.")
    angles = np.arange(T)[:, None] * _frequencies(C)[None, :]  # (T, ceil(C/2))
    pe = np.zeros((T, C))
    pe[:, 0::2] = np.sin(angles)  # (T, ceil(C/2))
    pe[:, 1::2] = np.cos(angles[:, : C // 2])  # (T, C//2)
    return pe


def rope(x: Any, positions: Any = None) -> np.ndarray:
    """Rotate each pair (x[..., 2i], x[..., 2i+1]) of x (..., T, D) by angle pos * omega_i.

    A rotation keeps norms, and R(a)^T R(b) = R(b - a), so after rope the score
    q_m . k_n depends on m and n only through n - m. ``positions`` (T,) defaults
    to 0 .. T-1.
    """
    x = as_float_array(x, "x")
    if x.ndim < 2 or x.shape[-1] % 2:
        raise ValueError(
            f"rope rotates pairs of features of x (..., T, D), so D must be even; got shape "
            f"{x.shape}."
        )
    T, D = x.shape[-2:]
    pos = np.arange(T) if positions is None else np.asarray(positions, dtype=np.float64)
    if pos.shape != (T,):
        raise ValueError(f"positions must have shape ({T},), one per row of x; got {pos.shape}.")
    angles = pos[:, None] * _frequencies(D)[None, :]  # (T, D/2)
    cos, sin = np.cos(angles), np.sin(angles)  # (T, D/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, D/2) each
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


__all__ = ["rope", "sinusoidal_encoding"]
