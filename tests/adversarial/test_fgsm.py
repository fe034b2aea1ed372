"""FGSM: the step goes along sign(dL/dx), stays in the box, and does increase the loss."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.adversarial import accuracy_under_fgsm, fgsm, fgsm_attack, loss_input_gradient
from dlbook.gradcheck import check_gradient
from dlbook.nn import numpy_backend as nn


@pytest.fixture
def model() -> nn.MLP:
    rng = np.random.default_rng(0)
    m = nn.MLP([6, 8, 3], seed=0, dtype="float64")
    m.set_weights({k: v + 0.1 * rng.normal(size=v.shape) for k, v in m.get_weights().items()})
    return m


def test_fgsm_moves_every_feature_by_epsilon_along_the_sign() -> None:
    x = np.array([[0.5, 0.5, 0.5], [0.1, 0.2, 0.3]])
    g = np.array([[2.0, -0.001, 0.0], [-3.0, 1.0, 5.0]])
    before = x.copy()
    out = fgsm(x, g, 0.1)
    np.testing.assert_allclose(out, x + 0.1 * np.sign(g))
    assert out[0, 2] == 0.5  # a zero gradient leaves its feature alone
    np.testing.assert_array_equal(x, before)  # input untouched


def test_fgsm_clips_into_the_box() -> None:
    x = np.array([0.0, 0.95, 0.5, 1.0])
    g = np.array([-1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(fgsm(x, g, 0.1, 0.0, 1.0), [0.0, 1.0, 0.6, 1.0])
    np.testing.assert_allclose(fgsm(x, g, 0.1, lo=0.0), [0.0, 1.05, 0.6, 1.1])  # one-sided
    lo, hi = np.zeros(4), np.array([1.0, 1.0, 0.55, 1.0])  # per-feature bounds
    np.testing.assert_allclose(fgsm(x, g, 0.1, lo, hi), [0.0, 1.0, 0.55, 1.0])


def test_loss_input_gradient_matches_finite_differences(model: nn.MLP) -> None:
    x = np.random.default_rng(1).normal(size=(1, 6))
    y = np.array([2])
    check_gradient(
        lambda v: nn.evaluate_loss(model, v[None], y),
        x[0].copy(),
        loss_input_gradient(model, x, y)[0],
    )
    assert all(not g.any() for g in model.get_grads().values())  # no leftovers


def test_fgsm_increases_the_loss_of_every_example(model: nn.MLP) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 6)), rng.integers(0, 3, 20)
    adv = fgsm_attack(model, x, y, 0.01)
    before = [nn.evaluate_loss(model, x[i : i + 1], y[i : i + 1]) for i in range(20)]
    after = [nn.evaluate_loss(model, adv[i : i + 1], y[i : i + 1]) for i in range(20)]
    assert all(a > b for a, b in zip(after, before, strict=True))
    acc = accuracy_under_fgsm(model, x, y, [0.0, 0.5, 2.0])
    assert acc[0] == np.mean(nn.predict(model, x) == y) and acc[2] <= acc[0]


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.ones(3), np.ones(3), -0.1), ValueError, ">= 0"),
        ((np.ones(3), np.ones(3), float("inf")), ValueError, "finite"),
        ((np.ones(3), np.ones(3), "0.1"), TypeError, "number"),
        ((np.ones(3), np.ones(4), 0.1), ValueError, "shapes must match"),
        ((np.ones(3), np.ones(3), 0.1, 1.0, 0.0), ValueError, "lo must not exceed hi"),
    ],
)
def test_fgsm_explains_bad_arguments(args: tuple, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fgsm(*args)
