"""The 8x8 handwritten digits shipped inside scikit-learn: 1,797 images, 10 classes.

The split is fixed and documented so that every chapter and every backend sees
the same examples:

1. shuffle once with ``np.random.default_rng(split_seed)`` (default 0);
2. take a stratified 70 / 15 / 15 train / validation / test split, so every
   class has the same share in each part;
3. scale pixels from 0..16 to standardised features, using the mean and
   standard deviation of the *training* part only (no test-set leakage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DataSplit:
    """A train / validation / test split of a classification dataset."""

    x_train: np.ndarray  # (N_train, D) features
    y_train: np.ndarray  # (N_train,) integer class labels
    x_val: np.ndarray  # (N_val, D)
    y_val: np.ndarray  # (N_val,)
    x_test: np.ndarray  # (N_test, D)
    y_test: np.ndarray  # (N_test,)
    n_classes: int  # number of classes

    @property
    def n_features(self) -> int:
        """Width D of one example."""
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (
            f"DataSplit(train={len(self.y_train)}, val={len(self.y_val)}, "
            f"test={len(self.y_test)}, features={self.n_features}, classes={self.n_classes})"
        )


def _stratified_indices(
    y: np.ndarray, fractions: tuple[float, float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the indices of each class by ``fractions``; return sorted train/val/test indices."""
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train : n_train + n_val])
        parts[2].append(idx[n_train + n_val :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def load_digits_split(
    split_seed: int = 0, *, dtype: str = "float32", standardize: bool = True
) -> DataSplit:
    """Load scikit-learn's digits and split them 70/15/15 (see the module docstring).

    >>> d = load_digits_split()
    >>> d
    DataSplit(train=1258, val=269, test=270, features=64, classes=10)
    """
    from sklearn.datasets import load_digits

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    digits = load_digits()  # ships inside scikit-learn: no download
    x = digits.data.astype(np.float64)  # (1797, 64), pixel values 0..16
    y = digits.target.astype(np.int64)  # (1797,)
    rng = np.random.default_rng(split_seed)
    tr, va, te = _stratified_indices(y, (0.70, 0.15, 0.15), rng)
    if standardize:
        mean = x[tr].mean(axis=0)
        std = x[tr].std(axis=0) + 1.0  # +1: some border pixels are always 0
        x = (x - mean) / std
    else:
        x = x / 16.0
    x = x.astype(dtype)
    return DataSplit(x[tr], y[tr], x[va], y[va], x[te], y[te], n_classes=10)
