"""Argument checks shared by the library. Messages speak to a learner."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a floating NumPy array, or explain why it cannot be one."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}.")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be an array of numbers, got dtype {arr.dtype}.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Refuse silent broadcasting between two arrays that must match element for element."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match "
            "element for element (NumPy would otherwise broadcast them silently)."
        )


def check_labels(labels: Any, n_examples: int, n_classes: int) -> np.ndarray:
    """Check integer class labels of shape (N,) with values in [0, n_classes)."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n_examples:
        raise ValueError(
            f"labels must have shape ({n_examples},), one class index per row of the logits, "
            f"but have shape {y.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"labels must be integer class indices, got dtype {y.dtype}. "
            "If you have one-hot rows, use labels = onehot.argmax(axis=1)."
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes}) for {n_classes} classes; "
            f"found values from {y.min()} to {y.max()}."
        )
    return y


def check_axis(axis: int, ndim: int) -> int:
    """Return a non-negative axis, or explain why ``axis`` does not exist."""
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis!r} does not exist for an array with {ndim} dimension(s).")
    return int(axis) % ndim


def check_sizes(sizes: Any) -> list[int]:
    """Layer widths of an MLP: at least two positive integers, input first."""
    try:
        out = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise TypeError(
            f"sizes must be a sequence of integers like [64, 128, 10], got {sizes!r}."
        ) from None
    if len(out) < 2 or any(s <= 0 for s in out) or any(int(s) != s for s in sizes):
        raise ValueError(
            f"sizes must list at least two positive integers (input width first, "
            f"number of outputs last), got {list(sizes)!r}."
        )
    return out
