"""``dlbook.metrics`` against scikit-learn, and its refusals of malformed input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from dlbook import metrics


def _labels(seed: int, n: int, k: int, *, drop: int | None = None) -> tuple[np.ndarray, ...]:
    """True and predicted labels that agree about 60 % of the time; ``drop`` is never predicted."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, size=n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, k, size=n))
    if drop is not None:
        p = np.where(p == drop, (drop + 1) % k, p)
    return t, p


CASES = [(0, 200, 4, None), (1, 50, 10, 3), (2, 7, 5, None), (3, 1000, 2, None), (4, 30, 6, 0)]


@pytest.mark.parametrize("seed, n, k, drop", CASES)
def test_against_sklearn(seed, n, k, drop):
    t, p = _labels(seed, n, k, drop=drop)
    labels = list(range(k))
    assert np.array_equal(
        metrics.confusion_matrix(t, p, k), skm.confusion_matrix(t, p, labels=labels)
    )
    assert metrics.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p), abs=1e-15)
    P, R, F = metrics.precision_recall_f1(t, p, k)
    sp, sr, sf, _ = skm.precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    np.testing.assert_allclose(P, sp, atol=1e-14)
    np.testing.assert_allclose(R, sr, atol=1e-14)
    np.testing.assert_allclose(F, sf, atol=1e-14)
    macro = skm.f1_score(t, p, labels=labels, average="macro", zero_division=0)
    assert metrics.macro_f1(t, p, k) == pytest.approx(macro, abs=1e-14)


def test_a_class_never_predicted_has_precision_and_f1_zero():
    t = np.array([0, 1, 2, 2])
    p = np.array([0, 1, 1, 1])
    P, R, F = metrics.precision_recall_f1(t, p, 3)
    assert P[2] == 0 and R[2] == 0 and F[2] == 0
    assert metrics.macro_f1(t, p, 3) == pytest.approx((1 + 0.5 + 0) / 3)


def test_macro_f1_differs_from_f1_of_macro_averages():
    t, p = _labels(5, 300, 4)
    P, R, F = metrics.precision_recall_f1(t, p, 4)
    f1_of_means = 2 * P.mean() * R.mean() / (P.mean() + R.mean())
    assert abs(F.mean() - f1_of_means) > 1e-6


def _ece_loop(probs, y, n_bins):
    """ECE by a plain loop over bins ((m-1)/M, m/M]."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    total = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        inside = (conf > lo) & (conf <= hi) if m else (conf <= hi)
        if inside.any():
            total += inside.mean() * abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
    return total


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_ece_matches_a_loop_over_bins(n_bins):
    rng = np.random.default_rng(n_bins)
    logits = 3 * rng.normal(size=(500, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, size=500)
    assert metrics.expected_calibration_error(probs, y, n_bins) == pytest.approx(
        _ece_loop(probs, y, n_bins), abs=1e-14
    )


def test_reliability_bins_match_sklearn_calibration_curve_for_two_classes():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    p1 = rng.random(400)
    y = (rng.random(400) < p1).astype(int)
    probs = np.stack([1 - p1, p1], axis=1)
    conf, acc, count = metrics.reliability_bins(probs, y, n_bins=10)
    assert count.sum() == 400
    # a perfectly calibrated source: every non-empty bin's accuracy is near its confidence
    assert metrics.expected_calibration_error(probs, y, 10) < 0.08
    frac_pos, mean_pred = calibration_curve(y, p1, n_bins=5)
    assert np.all(np.abs(frac_pos - mean_pred) < 0.12)
    assert np.all((conf[count > 0] >= 0.5) & (conf[count > 0] <= 1.0))


def test_a_calibrated_model_has_small_ece_and_an_overconfident_one_large():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4000, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in probs])  # labels drawn from the probs
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    assert metrics.expected_calibration_error(probs, y) < 0.03
    assert metrics.expected_calibration_error(sharp, y) > 0.1


@pytest.mark.parametrize(
    "y_true, y_pred, k, error, words",
    [
        (np.array([0, 1]), np.array([[0.2, 0.8], [0.9, 0.1]]), 2, ValueError, "argmax"),
        (np.array([0, 1]), np.array([0.2, 0.8]), 2, TypeError, "probabilities"),
        (np.array([0, 1, 2]), np.array([0, 1]), 3, ValueError, "one prediction per example"),
        (np.array([0, 5]), np.array([0, 1]), 3, ValueError, "number of outputs"),
        (np.array([-1, 0]), np.array([0, 1]), 3, ValueError, "negative"),
        (np.array([], dtype=int), np.array([], dtype=int), 3, ValueError, "empty"),
        (np.array([0, 1]), np.array([0, 1]), 0, ValueError, "n_classes"),
    ],
)
def test_refusals_speak_to_a_learner(y_true, y_pred, k, error, words):
    with pytest.raises(error, match=words):
        metrics.precision_recall_f1(y_true, y_pred, k)


def test_calibration_refuses_logits():
    with pytest.raises(ValueError, match="logits"):
        metrics.expected_calibration_error(np.array([[2.0, -1.0]]), np.array([0]))


def test_float_labels_with_integer_values_are_accepted():
    assert metrics.accuracy(np.array([0.0, 1.0, 2.0]), np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_split_is_disjoint_covering_and_seeded():
    a = metrics.train_val_test_split(101, (0.6, 0.2, 0.2), seed=3)
    b = metrics.train_val_test_split(101, (0.6, 0.2, 0.2), seed=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert sorted(np.concatenate(a).tolist()) == list(range(101))
    assert [len(p) for p in a] == [61, 20, 20]
    with pytest.raises(ValueError, match="sum"):
        metrics.train_val_test_split(10, (0.5, 0.5, 0.5))


def test_report_fits_the_text_column():
    t, p = _labels(0, 100, 4)
    text = metrics.classification_report(t, p, ["sea", "fire", "wood", "sky"])
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "macro avg" in text and text.count("\n") == 6
