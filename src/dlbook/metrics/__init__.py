"""Evaluation metrics for classifiers, in NumPy only (chapter 4).

A metric reads predictions, not models: whichever framework trained the model,
its predictions are a NumPy array by the time they are scored. So this package
has no backend modules; it is written once, in NumPy, and
``tests/metrics`` checks every function against scikit-learn.

Shape legend: N = examples, K = classes, M = calibration bins.

========================================================  =====================================
``confusion_matrix(y_true, y_pred, n_classes)``           (K, K) counts, row true, column predicted
``accuracy(y_true, y_pred)``                              fraction of correct predictions
``precision_recall_f1(y_true, y_pred, n_classes)``        three (K,) arrays, one value per class
``macro_f1(y_true, y_pred, n_classes)``                   the unweighted mean of the per-class F1
``classification_report(y_true, y_pred, names)``          the per-class table as text (<= 80 chars)
``reliability_bins(probs, y_true, n_bins=10)``            confidence, accuracy and count per bin
``expected_calibration_error(probs, y_true, n_bins=10)``  ``sum_m (n_m / N) abs(acc_m - conf_m)``
``train_val_test_split(n, fractions, seed)``              three disjoint index arrays
========================================================  =====================================

**Conventions, as scikit-learn's** ``zero_division=0``: a class that is never
predicted has precision 0 (0/0 is reported as 0), a class that never occurs
has recall 0, and its F1 is 0. ``macro_f1`` averages over all ``n_classes``
classes, also the absent ones, like ``f1_score(average="macro",
labels=range(K))``. The mean of per-class F1 is *not* the F1 of the mean
precision and the mean recall; the chapter shows the difference.
"""

from __future__ import annotations

from dlbook.metrics.calibration import expected_calibration_error, reliability_bins
from dlbook.metrics.classification import (
    accuracy,
    check_predictions,
    classification_report,
    confusion_matrix,
    macro_f1,
    precision_recall_f1,
)
from dlbook.metrics.splits import train_val_test_split

__all__ = [
    "accuracy",
    "check_predictions",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "macro_f1",
    "precision_recall_f1",
    "reliability_bins",
    "train_val_test_split",
]
