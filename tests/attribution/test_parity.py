"""The three attribution backends agree in float64: the NumPy MLP's hand-written backward,
torch autograd and ``tf.GradientTape`` give the same input gradients, saliency maps and
integrated gradients, to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.attribution import backend
from dlbook.backends import BACKENDS
from dlbook.nn import backend as nn_backend

FRAMEWORKS = [b for b in BACKENDS if b != "numpy"]


def models(activation: str = "relu") -> dict[str, object]:
    """The same float64 MLP with random (non-zero) biases in every backend."""
    rng = np.random.default_rng(3)
    w = nn_backend("numpy").MLP([64, 16, 12, 10], activation, seed=0, dtype="float64").get_weights()
    w = {k: v + 0.05 * rng.normal(size=v.shape) for k, v in w.items()}
    out = {}
    for name in BACKENDS:
        out[name] = nn_backend(name).MLP([64, 16, 12, 10], activation, seed=1, dtype="float64")
        out[name].set_weights(w)
    return out


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(4).uniform(0.0, 1.0, size=(5, 64))


@pytest.mark.parametrize("name", FRAMEWORKS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_saliency_parity(name: str, activation: str, x: np.ndarray) -> None:
    m = models(activation)
    targets = np.array([0, 3, 9, 3, 1])
    ours = backend("numpy").saliency(m["numpy"], x, targets)
    theirs = backend(name).saliency(m[name], x, targets)
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-10)
    ours = backend("numpy").input_gradient(m["numpy"], x, 4)
    np.testing.assert_allclose(backend(name).input_gradient(m[name], x, 4), ours, atol=1e-10)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_integrated_gradients_and_scores_parity(name: str, x: np.ndarray) -> None:
    m = models("gelu")
    baseline = np.full(64, 0.1)
    ours = backend("numpy")
    theirs = backend(name)
    ig_ours = ours.integrated_gradients(ours.score_grad_fn(m["numpy"], 2), x[0], baseline, 30)
    ig_theirs = theirs.integrated_gradients(theirs.score_grad_fn(m[name], 2), x[0], baseline, 30)
    np.testing.assert_allclose(ig_theirs, ig_ours, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        theirs.class_score(m[name], x, 5), ours.class_score(m["numpy"], x, 5), atol=1e-10
    )


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_framework_backends_explain_bad_arguments(name: str, x: np.ndarray) -> None:
    m = models()[name]
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        backend(name).input_gradient(m, x[:, :10], 0)
    with pytest.raises(ValueError, match="baseline"):
        backend(name).integrated_gradients(lambda p: p, x[0], x[0, :3])
    with pytest.raises(ValueError, match="at least 1"):
        backend(name).path_points(x[0], x[0], 0)
