"""DP-SGD training: sigma = 0 and C = inf is plain SGD, step for step; noise is seeded."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.data import load_digits_split
from dlbook.nn import TrainConfig, fit
from dlbook.nn import backend as nn_backend
from dlbook.privacy import backend, flatten_weights
from dlbook.privacy.training import DPSGDConfig, loss_threshold_scores, train_dp_sgd


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(dtype="float64", standardize=False)


def small(digits, n: int = 120):
    return digits.x_train[:n], digits.y_train[:n]


@pytest.mark.parametrize("name", ["numpy", "torch"])
def test_one_step_without_noise_or_clipping_is_the_sgd_gradient(name: str, digits) -> None:
    model = nn_backend(name).MLP([64, 16, 10], seed=0, dtype="float64")
    x, y = small(digits, 32)
    priv = backend(name)
    g = priv.private_gradient(priv.per_example_grads(model, x, y), np.inf, 0.0, rng=0)
    g = g.cpu().numpy() if hasattr(g, "cpu") else g
    _, grads = nn_backend(name).loss_and_grads(model, x, y)
    np.testing.assert_allclose(g, flatten_weights(grads), rtol=0, atol=1e-12)


def test_dp_sgd_with_sigma_0_and_C_inf_equals_plain_sgd(digits) -> None:
    """The whole loop, against chapter 1's fit with SGD (no momentum) on the same batches."""
    x, y = small(digits)
    dp_model = nn_backend("numpy").MLP([64, 16, 10], seed=0, dtype="float64")
    sgd_model = nn_backend("numpy").MLP([64, 16, 10], seed=0, dtype="float64")
    config = DPSGDConfig(
        noise_multiplier=0.0,
        max_grad_norm=np.inf,
        lr=0.1,
        batch_size=16,
        epochs=3,
        sampling="shuffle",
        seed=5,
        progress=False,
    )
    train_dp_sgd("numpy", dp_model, x, y, config)
    split = type(digits)(x, y, x[:8], y[:8], x[:8], y[:8], n_classes=10)
    fit(
        "numpy",
        sgd_model,
        split,
        TrainConfig(
            epochs=3, batch_size=16, optimizer="sgd", lr=0.1, momentum=0.0, seed=5, progress=False
        ),
    )
    a, b = dp_model.get_weights(), sgd_model.get_weights()
    assert max(np.abs(a[k] - b[k]).max() for k in a) < 1e-12


def test_numpy_and_torch_train_the_same_dp_model(digits) -> None:
    x, y = small(digits, 64)
    config = DPSGDConfig(
        noise_multiplier=1.0,
        max_grad_norm=0.5,
        lr=0.2,
        batch_size=16,
        epochs=2,
        seed=3,
        progress=False,
    )
    weights = {}
    for name in ("numpy", "torch"):
        model = nn_backend(name).MLP([64, 8, 10], seed=0, dtype="float64")
        history = train_dp_sgd(name, model, x, y, config)
        weights[name] = flatten_weights(model.get_weights())
    np.testing.assert_allclose(weights["torch"], weights["numpy"], rtol=0, atol=1e-10)
    assert history.steps == 2 * 4 and history.sample_rate == 0.25  # 1/q = 4 steps per epoch
    assert len(history.train_loss) == 2 and len(history.batch_sizes) == history.steps


def test_poisson_sampling_draws_batches_of_the_expected_size(digits) -> None:
    x, y = small(digits, 120)
    model = nn_backend("numpy").MLP([64, 8, 10], seed=0, dtype="float64")
    config = DPSGDConfig(noise_multiplier=0.5, batch_size=30, epochs=25, progress=False)
    history = train_dp_sgd("numpy", model, x, y, config)
    sizes = np.array(history.batch_sizes)
    assert abs(sizes.mean() - 30) < 3 and sizes.std() > 1  # Binomial(120, 1/4): varies


def test_loss_threshold_scores_are_minus_the_losses(digits) -> None:
    model = nn_backend("numpy").MLP([64, 8, 10], seed=0, dtype="float64")
    x, y = small(digits, 10)
    members, others = loss_threshold_scores("numpy", model, (x[:4], y[:4]), (x[4:], y[4:]))
    losses = [
        nn_backend("numpy").evaluate_loss(model, x[i : i + 1], y[i : i + 1]) for i in range(10)
    ]
    np.testing.assert_allclose(np.concatenate([members, others]), -np.array(losses), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise_multiplier": -1.0}, "noise_multiplier"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"noise_multiplier": 1.0, "max_grad_norm": float("inf")}, "finite max_grad_norm"),
        ({"lr": 0.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 1.5}, "epochs"),
        ({"sampling": "random"}, "sampling"),
    ],
)
def test_config_explains_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DPSGDConfig(**kwargs)
