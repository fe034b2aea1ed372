"""Argument checks shared by the library. Messages speak to a learner."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_not_tracked_tensor(x: Any, name: str) -> None:
    """Refuse a framework tensor that records gradients, with the one-line fix.

    ``np.asarray`` of a PyTorch tensor with ``requires_grad=True`` fails with
    PyTorch's own message; the NumPy backends say what to do instead.
    """
    if getattr(x, "requires_grad", False) and hasattr(x, "detach"):
        raise TypeError(
            f"{name} is a PyTorch tensor that records gradients, but this is a NumPy "
            f"function: pass {name}.detach().cpu().numpy(), or use the torch backend."
        )


def as_float_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a floating NumPy array, or explain why it cannot be one."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}.")
    check_not_tracked_tensor(x, name)
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


def check_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` (default 1: a positive int), or explain why not."""
    kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
        minimum, f"an integer >= {minimum}"
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be {kind}, got {value}.")
    return int(value)


def check_finite(x: np.ndarray, name: str) -> np.ndarray:
    """Refuse NaN and infinity: one of them would silently spoil a whole result."""
    if x.size and not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); they would silently spoil "
            "the result. Find where they come from (a diverged training run?) first."
        )
    return x


def as_keep_mask(mask: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A keep-mask of exactly ``shape`` as a boolean array: booleans, or 0 (drop) and 1 (keep).

    An integer mask must not be used to index directly: ``w[~mask]`` with
    ``mask = [1, 0, 1]`` reads ``~1 = -2`` and ``~0 = -1`` as *positions*.
    """
    if hasattr(mask, "detach"):  # a torch tensor
        mask = mask.detach().cpu().numpy()
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {m.shape} but its array has shape {tuple(shape)}; a mask must "
            "match it entry for entry, one keep (True/1) or drop (False/0) per entry."
        )
    if m.dtype != bool:
        if not (np.issubdtype(m.dtype, np.number) and np.isin(m, (0, 1)).all()):
            raise ValueError(
                f"{name} must hold booleans, or only 0 (drop) and 1 (keep); got values "
                f"{np.unique(m)[:5].tolist()}."
            )
        m = m.astype(bool)
    return m


def as_token_ids(ids: Any, vocab_size: int, name: str = "idx") -> np.ndarray:
    """Integer token ids in [0, vocab_size) as a NumPy array, or a clear error.

    A negative id would silently read the *last* rows of an embedding table
    (Python indexing), an id >= vocab_size a row that does not exist.
    """
    if hasattr(ids, "detach"):  # a torch tensor
        ids = ids.detach().cpu().numpy()
    arr = np.asarray(ids)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {arr.dtype}.")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab_size):
        raise ValueError(
            f"{name} holds token ids from {arr.min()} to {arr.max()}, but the vocabulary has "
            f"{vocab_size} tokens: every id must lie in [0, {vocab_size})."
        )
    return arr


def check_bias_shape(b_shape: tuple[int, ...], n_out: int, name: str = "b") -> None:
    """A bias has one entry per output, shape (H,): anything else would broadcast silently.

    A (H, 1) bias added to a (B, H) output does not fail in NumPy: it broadcasts
    to (H, H) when B = H, or to a wrong shape, or adds the wrong entry to each row.
    """
    if tuple(b_shape) != (n_out,):
        raise ValueError(
            f"{name} has shape {tuple(b_shape)} but must be ({n_out},), one entry per output; "
            f"adding it would broadcast silently. Flatten it with {name}.reshape(-1)."
        )


def check_float_dtype(dtype: Any) -> str:
    """The name ``"float32"`` or ``"float64"`` of a dtype given as a string or dtype object.

    Every backend computes in one of these two; anything else (``"float16"``, ``int``,
    a typo) is refused here, before a framework gives its own message.
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:  # a framework dtype object: tf.float64.name, str(torch.float64)
        name = getattr(dtype, "name", None) or str(dtype).rsplit(".", 1)[-1]
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return name
