"""Per-example gradients: the hand-written NumPy backward against finite differences and
against ``torch.func`` (``vmap(grad)``), in float64."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.gradcheck import check_gradient
from dlbook.nn import backend as nn_backend
from dlbook.privacy import backend, flatten_weights, unflatten_weights

SIZES = [[5, 7, 3], [5, 6, 4, 3]]  # one and two hidden layers


def make(name: str, sizes: list[int], activation: str = "relu"):
    """The same float64 MLP in a backend, with non-zero biases."""
    rng = np.random.default_rng(1)
    ref = nn_backend("numpy").MLP(sizes, activation, seed=0, dtype="float64")
    w = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in ref.get_weights().items()}
    model = nn_backend(name).MLP(sizes, activation, seed=0, dtype="float64")
    model.set_weights(w)
    return model


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return rng.normal(size=(6, 5)), np.array([0, 1, 2, 2, 1, 0])


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_numpy_per_example_grads_match_finite_differences(sizes, activation, batch) -> None:
    nn = nn_backend("numpy")
    model = make("numpy", sizes, activation)
    x, y = batch
    rows = backend("numpy").per_example_grads(model, x, y)  # (B, N)
    like = model.get_weights()
    for i in (0, 3):  # two examples, each against its own loss

        def loss_of_flat_weights(flat: np.ndarray, i: int = i) -> float:
            trial = make("numpy", sizes, activation)
            trial.set_weights(unflatten_weights(flat, like))
            return nn.evaluate_loss(trial, x[i : i + 1], y[i : i + 1])

        check_gradient(loss_of_flat_weights, flatten_weights(like), rows[i], tol=1e-6)


@pytest.mark.parametrize("sizes", SIZES)
def test_mean_of_rows_is_the_batch_gradient(sizes, batch) -> None:
    model = make("numpy", sizes)
    rows = backend("numpy").per_example_grads(model, *batch)
    _, grads = nn_backend("numpy").loss_and_grads(model, *batch)
    np.testing.assert_allclose(rows.mean(axis=0), flatten_weights(grads), rtol=0, atol=1e-14)


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_numpy_and_torch_per_example_grads_agree(sizes, activation, batch) -> None:
    ours = backend("numpy").per_example_grads(make("numpy", sizes, activation), *batch)
    theirs = backend("torch").per_example_grads(make("torch", sizes, activation), *batch)
    np.testing.assert_allclose(theirs.cpu().numpy(), ours, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_private_gradients_agree_across_backends_with_noise(name: str, batch) -> None:
    rows = backend("numpy").per_example_grads(make("numpy", SIZES[0]), *batch)
    ours = backend("numpy").private_gradient(rows, 0.3, 1.0, rng=4)
    theirs = backend(name).private_gradient(rows, 0.3, 1.0, rng=4)
    theirs = theirs.cpu().numpy() if hasattr(theirs, "cpu") else theirs
    np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_per_example_grads_explain_bad_shapes(name: str) -> None:
    model = make(name, SIZES[0])
    with pytest.raises(ValueError, match=r"\(B, 5\)"):
        backend(name).per_example_grads(model, np.ones((2, 4)), np.array([0, 1]))


def test_flatten_round_trip_and_errors() -> None:
    w = make("numpy", SIZES[1]).get_weights()
    back = unflatten_weights(flatten_weights(w), w)
    assert list(back) == list(w)
    assert all(np.array_equal(back[k], w[k]) for k in w)
    with pytest.raises(ValueError, match="vector of"):
        unflatten_weights(np.ones(3), w)
    with pytest.raises(ValueError, match="non-empty"):
        flatten_weights({})
