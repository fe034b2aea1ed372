"""Saliency and integrated gradients in NumPy: the input gradient against finite
differences, and IG's completeness (sum IG = F(x) - F(x'), the acceptance test)."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.attribution import numpy_backend as attr
from dlbook.data import load_digits_split
from dlbook.gradcheck import check_gradient
from dlbook.nn import TrainConfig, fit
from dlbook.nn import numpy_backend as nn


@pytest.fixture(scope="module")
def trained() -> tuple[nn.MLP, np.ndarray]:
    """A digits MLP trained for a few epochs (non-zero biases: F is not homogeneous)."""
    digits = load_digits_split(dtype="float64", standardize=False)
    model = nn.MLP([64, 32, 10], seed=0, dtype="float64")
    fit("numpy", model, digits, TrainConfig(epochs=5, batch_size=32, progress=False))
    return model, digits.x_test[:6]


def test_input_gradient_matches_finite_differences(trained) -> None:
    model, x = trained
    for target in (0, 7):
        analytic = attr.input_gradient(model, x[:1], target)[0]

        def score_of_pixels(pixels: np.ndarray, target: int = target) -> float:
            return float(attr.class_score(model, pixels[None, :], target)[0])

        check_gradient(score_of_pixels, x[0].copy(), analytic, tol=1e-6)


def test_input_gradient_leaves_no_weight_gradients(trained) -> None:
    model, x = trained
    attr.input_gradient(model, x, 3)
    assert all(not g.any() for g in model.get_grads().values())


def test_saliency_is_the_absolute_gradient_per_row_and_target(trained) -> None:
    model, x = trained
    targets = np.array([0, 1, 2, 3, 4, 5])
    rows = np.stack([attr.input_gradient(model, x[i : i + 1], t)[0] for i, t in enumerate(targets)])
    np.testing.assert_allclose(attr.saliency(model, x, targets), np.abs(rows), atol=1e-14)


def test_integrated_gradients_are_complete(trained) -> None:
    """sum_j IG_j = F(x) - F(x') within 1% at 50 steps, for the predicted class and a
    black-image baseline (the acceptance test). A ReLU network's score is only piecewise
    linear along the path, so the midpoint rule is not exact; for classes whose score
    barely changes, the *relative* error can be larger, hence the predicted class."""
    model, x = trained
    baseline = np.zeros(64)
    for image, target in zip(x, model.forward(x).argmax(axis=1), strict=True):
        ig = attr.integrated_gradients(attr.score_grad_fn(model, target), image, baseline, 50)
        gap = attr.class_score(model, image[None], target)[0]
        gap -= attr.class_score(model, baseline[None], target)[0]
        assert abs(ig.sum() - gap) <= 0.01 * abs(gap)


def test_completeness_error_shrinks_with_steps(trained) -> None:
    model, x = trained
    baseline, grad_fn = np.zeros(64), attr.score_grad_fn(model, 2)
    gap = (attr.class_score(model, x[:1], 2) - attr.class_score(model, baseline[None], 2))[0]
    errors = [
        abs(attr.integrated_gradients(grad_fn, x[0], baseline, m).sum() - gap) for m in (2, 8, 64)
    ]
    assert errors[2] < errors[0] and errors[2] < 1e-3 * abs(gap)


def test_midpoint_rule_is_exact_for_a_quadratic() -> None:
    """F(x) = sum x^3 / 3 has dF/dx = x^2, quadratic along the path: the midpoint rule's
    error is exactly -(x - x')^3 / (12 m^2) per feature, a known value."""
    x, baseline, m = np.array([1.0, 2.0, -1.0]), np.zeros(3), 4
    ig = attr.integrated_gradients(lambda p: p**2, x, baseline, m)
    np.testing.assert_allclose(ig, x**3 / 3 - x**3 / (12 * m**2), atol=1e-14)


def test_grad_fn_is_called_once_on_the_batch_of_points() -> None:
    calls = []

    def grad_fn(points: np.ndarray) -> np.ndarray:
        calls.append(points.shape)
        return np.ones_like(points)

    x = np.arange(6.0).reshape(2, 3)
    ig = attr.integrated_gradients(grad_fn, x, np.zeros_like(x), steps=7)
    assert calls == [(7, 2, 3)]
    np.testing.assert_allclose(ig, x)  # constant gradient: IG = x - x'


def test_path_points_are_the_midpoints() -> None:
    pts = attr.path_points(np.array([4.0]), np.array([0.0]), 4)
    np.testing.assert_allclose(pts[:, 0], [0.5, 1.5, 2.5, 3.5])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda m: attr.integrated_gradients(np.ones_like, np.ones(3), np.ones(4)),
            ValueError,
            "baseline",
        ),
        (
            lambda m: attr.integrated_gradients(np.ones_like, np.ones(3), np.ones(3), 0),
            ValueError,
            "at least 1",
        ),
        (
            lambda m: attr.integrated_gradients(np.ones_like, np.ones(3), np.ones(3), 2.5),
            TypeError,
            "integer",
        ),
        (
            lambda m: attr.integrated_gradients(lambda p: p[0], np.ones(3), np.ones(3)),
            ValueError,
            "same shape",
        ),
        (lambda m: attr.input_gradient(m, np.ones(64), 0), ValueError, r"x\[None, :\]"),
        (lambda m: attr.input_gradient(m, np.ones((1, 64)), 10), ValueError, "labels"),
    ],
)
def test_bad_arguments_are_explained(trained, call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call(trained[0])
