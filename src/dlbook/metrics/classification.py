"""Counting right and wrong answers: the confusion matrix and everything read off it.

Shape legend: N = examples, K = classes.

For class k, with ``C`` the confusion matrix (row = true class, column = predicted):

    TP_k = C[k, k]            FP_k = sum_j C[j, k] - TP_k      FN_k = sum_j C[k, j] - TP_k
    precision_k = TP_k / (TP_k + FP_k)       of the examples called k, the share that are k
    recall_k    = TP_k / (TP_k + FN_k)       of the examples that are k, the share found
    F1_k        = 2 P_k R_k / (P_k + R_k) = 2 TP_k / (2 TP_k + FP_k + FN_k)

A 0/0 is reported as 0, as scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _labels(y: Any, name: str, n_classes: int | None = None) -> np.ndarray:
    """``y`` as a 1-D integer array of class indices, or a learner-friendly error."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        raise ValueError(
            f"{name} has shape {arr.shape}: it looks like one row of scores or one-hot "
            f"entries per example. Metrics take class indices; use {name}.argmax(axis=1)."
        )
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {arr.shape}.")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if (
            np.issubdtype(arr.dtype, np.floating)
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            arr = arr.astype(np.int64)  # 0., 1., 2. are fine as labels
        else:
            raise TypeError(
                f"{name} must hold integer class indices, got dtype {arr.dtype}"
                + (" with non-integer values" if arr.dtype.kind == "f" else "")
                + ". Did you pass probabilities instead of predicted classes?"
            )
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} holds negative class indices (min {arr.min()}).")
    if n_classes is not None and arr.size and arr.max() >= n_classes:
        raise ValueError(
            f"{name} holds class {arr.max()} but n_classes = {n_classes}; classes are "
            f"0 .. {n_classes - 1}. Does the model's number of outputs match the data?"
        )
    return arr.astype(np.int64, copy=False)


def check_predictions(
    y_true: Any, y_pred: Any, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays as (N,) int64 after checking type, shape, range and length."""
    if n_classes is not None and (
        isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 1
    ):
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    t = _labels(y_true, "y_true", n_classes)
    p = _labels(y_pred, "y_pred", n_classes)
    if t.shape != p.shape:
        raise ValueError(
            f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}: "
            "one prediction per example is needed."
        )
    if t.size == 0:
        raise ValueError("y_true is empty: a metric needs at least one example.")
    return t, p


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """C[i, j] = number of examples of true class i predicted as class j, shape (K, K)."""
    t, p = check_predictions(y_true, y_pred, n_classes)
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)  # (K*K,)
    return flat.reshape(n_classes, n_classes)  # (K, K)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """(1/N) sum_i [y_pred_i == y_true_i]."""
    t, p = check_predictions(y_true, y_pred)
    return float(np.mean(t == p))


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b elementwise, with 0 where b == 0 (scikit-learn's zero_division=0)."""
    return np.divide(a, b, out=np.zeros(a.shape, dtype=np.float64), where=b > 0)


def precision_recall_f1(
    y_true: Any, y_pred: Any, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1, three arrays of shape (K,) (see module docstring)."""
    C = confusion_matrix(y_true, y_pred, n_classes).astype(np.float64)  # (K, K)
    tp = np.diag(C)  # (K,)
    predicted = C.sum(axis=0)  # (K,) TP + FP: column sums
    actual = C.sum(axis=1)  # (K,) TP + FN: row sums
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, actual)
    f1 = _safe_div(2.0 * tp, predicted + actual)  # = 2 TP / (2 TP + FP + FN)
    return precision, recall, f1


def macro_f1(y_true: Any, y_pred: Any, n_classes: int) -> float:
    """(1/K) sum_k F1_k: every class counts the same, however rare."""
    return float(np.mean(precision_recall_f1(y_true, y_pred, n_classes)[2]))


def classification_report(y_true: Any, y_pred: Any, names: Sequence[str], digits: int = 3) -> str:
    """A table of precision, recall, F1 and support per class, then accuracy and macro averages."""
    names = [str(n) for n in names]
    K = len(names)
    p, r, f = precision_recall_f1(y_true, y_pred, K)
    support = np.bincount(check_predictions(y_true, y_pred, K)[0], minlength=K)
    w = max(12, *(len(n) for n in names))
    head = f"{'':<{w}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"
    lines = [head]
    for k in range(K):
        lines.append(
            f"{names[k][:w]:<{w}} {p[k]:>9.{digits}f} {r[k]:>9.{digits}f} "
            f"{f[k]:>9.{digits}f} {support[k]:>8d}"
        )
    n = int(support.sum())
    acc = accuracy(y_true, y_pred)
    lines.append(f"{'accuracy':<{w}} {'':>9} {'':>9} {acc:>9.{digits}f} {n:>8d}")
    lines.append(
        f"{'macro avg':<{w}} {p.mean():>9.{digits}f} {r.mean():>9.{digits}f} "
        f"{f.mean():>9.{digits}f} {n:>8d}"
    )
    return "\n".join(lines)
