"""Generated 2-D classification sets, for pictures of decision boundaries.

Each returns ``(x, y)`` with ``x`` of shape (N, 2) and integer labels ``y`` of shape (N,).
All take an ``rng`` (or an int seed): the same seed gives the same points.
"""

from __future__ import annotations

import numpy as np

from dlbook.seeding import make_rng


def _check_n(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}.")
    return int(n)


def make_moons(
    n: int = 200, *, noise: float = 0.1, rng: np.random.Generator | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: ``(cos t, sin t)`` and ``(1 - cos t, 0.5 - sin t)``."""
    n, rng = _check_n(n), make_rng(rng)
    n0 = n // 2
    t0 = np.pi * rng.uniform(size=n0)
    t1 = np.pi * rng.uniform(size=n - n0)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)  # (n0, 2)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)  # (n - n0, 2)
    x = np.concatenate([upper, lower]) + noise * rng.normal(size=(n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return x, y


def make_circles(
    n: int = 200, *, noise: float = 0.05, factor: float = 0.5, rng: np.random.Generator | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """An inner circle of radius ``factor`` (class 1) inside a unit circle (class 0)."""
    n, rng = _check_n(n), make_rng(rng)
    if not 0 < factor < 1:
        raise ValueError(f"factor is the inner radius and must lie in (0, 1), got {factor}.")
    y = (np.arange(n) >= n // 2).astype(np.int64)
    t = 2 * np.pi * rng.uniform(size=n)
    r = np.where(y == 1, factor, 1.0)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1) + noise * rng.normal(size=(n, 2))
    return x, y


def make_spirals(
    n: int = 300, *, classes: int = 3, noise: float = 0.2, rng: np.random.Generator | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms; not linearly separable, a classic MLP test."""
    n, rng = _check_n(n), make_rng(rng)
    y = np.arange(n, dtype=np.int64) % classes
    r = rng.uniform(0.05, 1.0, size=n)
    theta = 4.0 * r + 2 * np.pi * y / classes + noise * rng.normal(size=n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1), y


def make_xor(
    n: int = 200, *, noise: float = 0.1, rng: np.random.Generator | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Four clusters at (±1, ±1); the label is 1 where the signs differ (XOR)."""
    n, rng = _check_n(n), make_rng(rng)
    centres = rng.choice([-1.0, 1.0], size=(n, 2))
    y = (centres[:, 0] != centres[:, 1]).astype(np.int64)
    return centres + noise * rng.normal(size=(n, 2)), y


def make_blobs(
    n: int = 200, *, classes: int = 2, spread: float = 0.5, rng: np.random.Generator | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs whose centres sit evenly on the unit circle: linearly separable-ish."""
    n, rng = _check_n(n), make_rng(rng)
    y = np.arange(n, dtype=np.int64) % classes
    angle = 2 * np.pi * y / classes
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 2.0
    return centres + spread * rng.normal(size=(n, 2)), y
