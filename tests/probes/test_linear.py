"""The NumPy logistic-regression probe: gradient, fit, errors."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.gradcheck import check_gradient
from dlbook.probes import fit_linear_probe, probe_accuracy_by_layer
from dlbook.probes.linear import probe_loss_and_grad


def test_probe_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 5)), rng.integers(0, 3, 20)
    params = rng.normal(size=5 * 3 + 3)
    _, grad = probe_loss_and_grad(params, x, y, 3, 0.1)
    check_gradient(lambda p: probe_loss_and_grad(p, x, y, 3, 0.1)[0], params, grad)


def test_probe_separates_linearly_separable_classes() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(4, 6) * 6.0
    y = rng.integers(0, 4, 400)
    x = centres[y] + rng.normal(size=(400, 6))
    probe = fit_linear_probe(x[:300], y[:300], 4)
    assert probe.accuracy(x[300:], y[300:]) > 0.97
    np.testing.assert_allclose(probe.mean, x[:300].mean(axis=0))


def test_probe_cannot_read_what_is_not_there() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2000, 8)), rng.integers(0, 4, 2000)
    acc = probe_accuracy_by_layer(x[None, :1500], y[:1500], x[None, 1500:], y[1500:], 4)
    assert acc.shape == (1,) and abs(acc[0] - 0.25) < 0.06  # chance


def test_probe_explains_bad_arguments() -> None:
    x, y = np.ones((4, 3)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        fit_linear_probe(np.ones(4), y, 2)
    with pytest.raises(ValueError, match="labels must lie"):
        fit_linear_probe(x, np.array([0, 1, 2, 5]), 3)
    with pytest.raises(ValueError, match="l2"):
        fit_linear_probe(x, y, 2, l2=-1.0)
    with pytest.raises(ValueError, match=r"\(L, N, C\)"):
        probe_accuracy_by_layer(x, y, x, y, 2)
    probe = fit_linear_probe(x, y, 2)
    with pytest.raises(ValueError, match="3 columns"):
        probe.predict(np.ones((2, 4)))
