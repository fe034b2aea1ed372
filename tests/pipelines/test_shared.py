"""The NumPy parts of ``dlbook.pipelines``: early stopping, the regression data, label checks."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.pipelines import (
    EarlyStopping,
    RegressionDataConfig,
    check_class_count,
    early_stopping_epochs,
    make_regression_data,
    regression_function,
    shuffled,
)


@pytest.mark.parametrize(
    "losses, patience, min_delta, expected",
    [
        ([5, 4, 3, 3.5, 3.6, 3.7, 2.0], 3, 0.0, (2, 5)),  # stops before the late improvement
        ([5, 4, 3, 3.5, 3.6, 2.0, 3.7], 3, 0.0, (5, 6)),  # the improvement resets the count
        ([5, 4, 3.99, 3.98, 3.97], 2, 0.05, (1, 3)),  # tiny gains do not count with min_delta
        ([3, 2, 1], 1, 0.0, (2, 2)),  # never stops: runs to the end
        ([1, 1, 1, 1], 2, 0.0, (0, 2)),  # equal is not better
    ],
)
def test_early_stopping_epochs(losses, patience, min_delta, expected):
    assert early_stopping_epochs(losses, patience, min_delta) == expected


def test_early_stopping_refuses_nan_and_bad_patience():
    rule = EarlyStopping(2)
    rule.update(1.0)
    with pytest.raises(ValueError, match="diverged"):
        rule.update(float("nan"))
    with pytest.raises(ValueError, match=">= 1"):
        EarlyStopping(0)
    with pytest.raises(TypeError, match="int"):
        EarlyStopping(2.5)


def test_regression_noise_floor_is_the_mse_of_the_true_function():
    x, y, noise = make_regression_data(20000, seed=0)
    mse_of_f = float(np.mean((regression_function(x) - y) ** 2))
    assert noise == 0.25
    assert mse_of_f == pytest.approx(noise, rel=0.03)
    assert y.var() > 4 * noise  # most of the variance is signal: there is something to learn
    x2, _, _ = make_regression_data(5, RegressionDataConfig(n_features=3), seed=1)
    assert x2.shape == (5, 3)


def test_check_class_count():
    assert check_class_count(np.array([0, 1, 3, 2]), 4) == 4
    with pytest.raises(ValueError, match="Dense\\(20\\)"):
        check_class_count(np.arange(20), 10)
    with pytest.raises(ValueError, match="Dense\\(4\\)"):
        check_class_count(np.array([0, 1, 2, 3]), 10)
    with pytest.raises(TypeError, match="argmax"):
        check_class_count(np.eye(3), 3)


def test_shuffled_keeps_pairs():
    x = np.arange(10)[:, None] * 1.0
    y = np.arange(10)
    xs, ys = shuffled(x, y, seed=0)
    assert np.array_equal(xs[:, 0], ys) and not np.array_equal(ys, y)


def test_backend_by_name_and_a_clear_refusal_for_none():
    from dlbook.pipelines import backend

    assert backend("numpy").fit_like_keras is not None
    with pytest.raises(ValueError, match="Unknown backend"):
        backend("jax")
