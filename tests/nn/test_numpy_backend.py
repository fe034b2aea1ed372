"""Finite-difference checks of every hand-written backward pass in ``dlbook.nn.numpy_backend``.

Each check builds a scalar L = sum(f(x) * g) for a fixed random upstream gradient
g, so that dL/dx is exactly what ``<op>_backward(x, g)`` should return, and
compares it with central differences (eps = 1e-6, float64): relative error < 1e-6,
measured as max|analytic - numeric| / max|numeric| (``dlbook.gradcheck``).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlbook.gradcheck import check_gradient
from dlbook.nn import numpy_backend as nn

TOL = 1e-6  # relative error, analytic vs central differences
EPS = 1e-6


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _away_from_zero(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Push entries out of (-margin, margin): relu has a kink at 0 that differences straddle."""
    return np.where(x >= 0, x + margin, x - margin)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "gelu"])
def test_activation_backward(name: str, rng: np.random.Generator) -> None:
    f, df = nn.ACTIVATIONS[name]
    x = _away_from_zero(rng.normal(size=(4, 5)) * 2)
    g = rng.normal(size=x.shape)  # upstream gradient dL/dy
    check_gradient(lambda v: np.sum(f(v) * g), x, df(x, g), eps=EPS, tol=TOL)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_backward(axis: int, rng: np.random.Generator) -> None:
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    analytic = nn.softmax_backward(nn.softmax(x, axis), g, axis)
    check_gradient(lambda v: np.sum(nn.softmax(v, axis) * g), x, analytic, eps=EPS, tol=TOL)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_backward(axis: int, rng: np.random.Generator) -> None:
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    analytic = nn.log_softmax_backward(nn.log_softmax(x, axis), g, axis)
    check_gradient(lambda v: np.sum(nn.log_softmax(v, axis) * g), x, analytic, eps=EPS, tol=TOL)


def test_mse_loss_backward(rng: np.random.Generator) -> None:
    pred, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    analytic = nn.mse_loss_backward(pred, target)
    check_gradient(lambda p: nn.mse_loss(p, target), pred, analytic, eps=EPS, tol=TOL)


@pytest.mark.parametrize("B, K", [(1, 2), (6, 4), (10, 10)])
def test_cross_entropy_backward(B: int, K: int, rng: np.random.Generator) -> None:
    logits, labels = rng.normal(size=(B, K)) * 3, rng.integers(0, K, size=B)
    analytic = nn.cross_entropy_backward(logits, labels)
    check_gradient(lambda z: nn.cross_entropy(z, labels), logits, analytic, eps=EPS, tol=TOL)


def test_linear_backward_all_three_outputs(rng: np.random.Generator) -> None:
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    g = rng.normal(size=(4, 5))
    dx, dW, db = nn.linear_backward(x, W, g)
    assert (dx.shape, dW.shape, db.shape) == (x.shape, W.shape, b.shape)
    check_gradient(lambda v: np.sum(nn.linear(v, W, b) * g), x, dx, eps=EPS, tol=TOL)
    check_gradient(lambda v: np.sum(nn.linear(x, v, b) * g), W, dW, eps=EPS, tol=TOL)
    check_gradient(lambda v: np.sum(nn.linear(x, W, v) * g), b, db, eps=EPS, tol=TOL)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "gelu"])
def test_activation_layer_backward(name: str, rng: np.random.Generator) -> None:
    layer = nn.Activation(name)
    x = _away_from_zero(rng.normal(size=(3, 4)))
    g = rng.normal(size=x.shape)
    layer.forward(x)
    dx = layer.backward(g)
    check_gradient(lambda v: np.sum(layer.forward(v) * g), x, dx, eps=EPS, tol=TOL)


def test_linear_layer_backward_input_and_accumulated_grads(rng: np.random.Generator) -> None:
    layer = nn.Linear.from_weights(rng.normal(size=(3, 2)), rng.normal(size=2))
    x, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    layer.forward(x)
    dx = layer.backward(g)

    def loss(_: np.ndarray) -> float:  # reads the perturbed parameter through the layer
        return float(np.sum(layer.forward(x) * g))

    check_gradient(lambda v: np.sum(layer.forward(v) * g), x, dx, eps=EPS, tol=TOL)
    check_gradient(loss, layer.params["W"], layer.grads["W"].copy(), eps=EPS, tol=TOL)
    check_gradient(loss, layer.params["b"], layer.grads["b"].copy(), eps=EPS, tol=TOL)
    layer.forward(x)
    layer.backward(g)  # a second backward accumulates, like torch's .grad
    np.testing.assert_allclose(layer.grads["b"], 2 * g.sum(axis=0), rtol=1e-12)


def test_backward_before_forward_explains() -> None:
    with pytest.raises(RuntimeError, match="forward before backward"):
        nn.Activation("relu").backward(np.ones((1, 1)))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu"])
@pytest.mark.parametrize("sizes", [[4, 3], [5, 7, 3], [3, 6, 5, 4]])
def test_mlp_backward_every_weight(activation: str, sizes: list[int]) -> None:
    """loss_and_grads (MLP.backward) against central differences, weight by weight."""
    rng = np.random.default_rng(7)
    model = nn.MLP(sizes, activation, seed=3, dtype="float64")
    x, y = rng.normal(size=(6, sizes[0])), rng.integers(0, sizes[-1], size=6)
    _, grads = nn.loss_and_grads(model, x, y)
    params = {f"{p}{i}": lin.params[p] for i, lin in enumerate(model.linears) for p in "Wb"}
    assert set(grads) == set(params)
    for key, param in params.items():  # perturbed in place, so the model sees each change
        check_gradient(
            lambda _: nn.cross_entropy(model.forward(x), y), param, grads[key], eps=EPS, tol=TOL
        )


def test_mlp_grads_do_not_accumulate_across_calls() -> None:
    model = nn.MLP([4, 5, 3], seed=0, dtype="float64")
    x, y = np.ones((2, 4)), np.array([0, 2])
    _, first = nn.loss_and_grads(model, x, y)
    _, second = nn.loss_and_grads(model, x, y)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_import_nn_stays_light() -> None:
    """``import dlbook.nn`` and its NumPy backend load neither torch nor tensorflow."""
    code = (
        "import sys, dlbook.nn, dlbook.nn.numpy_backend\n"
        "print(sorted(m for m in ('torch', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing dlbook.nn loaded {out.stdout.strip()}"


def test_sigmoid_tanh_form_matches_the_two_branch_form() -> None:
    from dlbook.nn import numpy_backend as nnp

    x = np.concatenate([np.linspace(-40, 40, 2001), [-745.0, -1000.0, 1000.0]])
    e = np.exp(-np.abs(x))
    two_branch = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    np.testing.assert_allclose(nnp.sigmoid(x), two_branch, rtol=0, atol=5e-16)
    assert nnp.sigmoid(np.float32(3.0)).dtype == np.float32


def test_gelu_backward_with_a_cached_cdf_is_the_same() -> None:
    from dlbook.nn import numpy_backend as nnp

    x = np.random.default_rng(0).normal(size=(4, 5)) * 3
    g = np.ones_like(x)
    np.testing.assert_array_equal(
        nnp.gelu_backward(x, g, nnp.normal_cdf(x)), nnp.gelu_backward(x, g)
    )
    assert nnp.gelu(x.astype(np.float32)).dtype == np.float32
