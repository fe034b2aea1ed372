"""Calibration: when a model says "80 % sure", is it right 80 % of the time?

Shape legend: N = examples, K = classes, M = bins.

Each example's *confidence* is its largest predicted probability,
``conf_i = max_k p_ik``, and it is *correct* when that class is the true one.
Split [0, 1] into M equal bins, ``((m-1)/M, m/M]`` (the first also holds 0);
in bin m with ``n_m`` examples::

    conf_m = mean confidence,   acc_m = fraction correct,
    ECE = sum_m (n_m / N) |acc_m - conf_m|       (Guo et al., 2017)

A reliability diagram plots ``acc_m`` against ``conf_m``; a calibrated model
lies on the diagonal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.metrics.classification import check_predictions


def _check_probs(probs: Any) -> np.ndarray:
    """(N, K) rows of probabilities: finite, in [0, 1], each row summing to 1."""
    p = np.asarray(probs)
    if p.dtype == object or not np.issubdtype(p.dtype, np.number):
        raise TypeError(f"probs must be an array of numbers, got dtype {p.dtype}.")
    p = p.astype(np.float64)
    if p.ndim != 2:
        raise ValueError(
            f"probs must have shape (N, K), one row of class probabilities per example; "
            f"got shape {p.shape}."
        )
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contains NaN or inf; did the model's training diverge?")
    if p.min() < 0 or p.max() > 1 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(
            "probs rows must be probabilities that sum to 1; these look like logits. "
            "Apply a softmax first (or drop from_logits confusion: see chapter 4)."
        )
    return p


def _check_bins(n_bins: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}.")
    return int(n_bins)


def reliability_bins(
    probs: Any, y_true: Any, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean confidence, accuracy and count per bin, three (M,) arrays (NaN in empty bins)."""
    p = _check_probs(probs)
    M = _check_bins(n_bins)
    y, _ = check_predictions(y_true, p.argmax(axis=1), p.shape[1])
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"probs has {p.shape[0]} rows but y_true has {y.shape[0]} labels.")
    conf = p.max(axis=1)  # (N,)
    correct = (p.argmax(axis=1) == y).astype(np.float64)  # (N,)
    bin_of = np.clip(np.ceil(conf * M).astype(np.int64) - 1, 0, M - 1)  # (N,) bin ((m-1)/M, m/M]
    count = np.bincount(bin_of, minlength=M).astype(np.float64)  # (M,)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bin_of, weights=conf, minlength=M) / count
        mean_acc = np.bincount(bin_of, weights=correct, minlength=M) / count
    return mean_conf, mean_acc, count.astype(np.int64)


def expected_calibration_error(probs: Any, y_true: Any, n_bins: int = 10) -> float:
    """ECE = sum over the non-empty bins m of (n_m / N) abs(acc_m - conf_m)."""
    conf, acc, count = reliability_bins(probs, y_true, n_bins)
    full = count > 0
    return float(np.sum(count[full] / count.sum() * np.abs(acc[full] - conf[full])))
