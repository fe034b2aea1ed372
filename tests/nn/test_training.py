"""Training through the shared loop ``dlbook.nn.fit``: every backend learns, and learns the same.

The slow tests train on the digits (seconds each); the fast ones check single steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.data import DataSplit, load_digits_split
from dlbook.nn import TrainConfig, accuracy, fit
from dlbook.optim import OPTIMIZERS
from dlbook.optim import numpy_backend as optim_np

TARGET_ACCURACY = 0.97  # on the held-out test set
TIME_LIMIT_S = 15.0  # wall-clock seconds for the default 40 epochs, on a laptop CPU


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded for the timing test, then restore the thread count.

    On a 2-core machine that is busy with something else, torch's 2 OpenMP
    threads wait on each other: the same 40 epochs took 0.3 s with 1 thread and
    up to 15 s with 2 (numpy and TensorFlow stay under 2 s either way).
    """
    from dlbook._lazy import import_torch

    torch = import_torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_default_training_reaches_97_percent(
    backend: str,
    digits: DataSplit,
    record_property: pytest.RecordProperty,
    one_torch_thread: None,
) -> None:
    nn = load_backend("nn", backend)
    model = nn.MLP([64, 128, 10], seed=0)
    history = fit(backend, model, digits, TrainConfig(progress=False))
    test_acc = accuracy(backend, model, digits.x_test, digits.y_test)
    record_property("test_accuracy", test_acc)
    record_property("seconds", history.seconds)
    print(f"{backend}: test accuracy {test_acc:.4f} in {history.seconds:.2f} s")
    assert len(history.train_loss) == len(history.val_accuracy) == TrainConfig().epochs
    assert history.train_loss[-1] < history.train_loss[0]
    assert test_acc >= TARGET_ACCURACY
    assert history.seconds <= TIME_LIMIT_S


@pytest.mark.slow
def test_backends_trace_the_same_loss_curve_in_float64(digits64: DataSplit) -> None:
    """Same seed, same batches, float64: the three backends are the same network."""
    config = TrainConfig(epochs=3, progress=False)
    curves, val = {}, {}
    for backend in BACKENDS:
        model = load_backend("nn", backend).MLP([64, 128, 10], seed=0, dtype="float64")
        history = fit(backend, model, digits64, config)
        curves[backend], val[backend] = np.array(history.train_loss), history.val_accuracy
    for backend in BACKENDS:
        np.testing.assert_allclose(
            curves[backend], curves["numpy"], rtol=0, atol=1e-6, err_msg=backend
        )
        assert val[backend] == val["numpy"], backend


def _steps(
    backend: str, config: TrainConfig, n_steps: int = 5, eps_placement: str | None = None
) -> dict[str, np.ndarray]:
    """Weights after ``n_steps`` optimizer steps on fixed random batches (float64).

    ``eps_placement`` (numpy only) swaps in the from-scratch optimizer in that convention.
    """
    nn = load_backend("nn", backend)
    model = nn.MLP([6, 9, 4], "tanh", seed=2, dtype="float64")
    optimizer = nn.make_optimizer(model, config)
    if eps_placement is not None:
        hparams = {**config.optimizer_hparams(), "eps_placement": eps_placement}
        optimizer = optim_np.make(config.optimizer, optimizer.params, **hparams)
    rng = np.random.default_rng(0)
    for _ in range(n_steps):
        x, y = rng.normal(size=(8, 6)), rng.integers(0, 4, size=8)
        loss = nn.train_step(model, optimizer, x, y)
        assert isinstance(loss, float) and np.isfinite(loss)
    return model.get_weights()


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_optimizers_take_identical_steps(momentum: float, weight_decay: float) -> None:
    """torch.optim.SGD, Keras SGD (other momentum convention) and ours move weights alike."""
    config = TrainConfig(lr=0.1, momentum=momentum, weight_decay=weight_decay, progress=False)
    results = {backend: _steps(backend, config) for backend in BACKENDS}
    for backend in BACKENDS:
        for key, value in results["numpy"].items():
            np.testing.assert_allclose(
                results[backend][key], value, rtol=0, atol=1e-12, err_msg=f"{backend} {key}"
            )


def _assert_same_weights(ours: dict, theirs: dict, label: str) -> None:
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=0, atol=1e-12, err_msg=f"{label} {key}")


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_takes_identical_steps_in_every_backend(
    optimizer: str, weight_decay: float
) -> None:
    """TrainConfig(optimizer=...) gives the same weights in NumPy, torch.optim and Keras.

    Keras puts eps elsewhere in Adagrad, RMSprop and Adam(W) (see
    dlbook.optim.tensorflow_backend): there TensorFlow is compared with the NumPy
    optimizer in Keras's convention, which differs from torch's by about 1e-8.
    """
    config = TrainConfig(optimizer=optimizer, lr=0.01, weight_decay=weight_decay, progress=False)
    reference = _steps("numpy", config)
    _assert_same_weights(_steps("torch", config), reference, "torch")
    if optimizer in ("adagrad", "rmsprop", "adam", "adamw"):
        reference = _steps("numpy", config, eps_placement="keras")
    _assert_same_weights(_steps("tensorflow", config), reference, "tensorflow")


def test_default_config_is_chapter_ones_sgd_with_momentum() -> None:
    """Adding optimizers must not change chapter 1: plain heavy-ball SGD, lr 0.05, mu 0.9."""
    model = load_backend("nn", "numpy").MLP([3, 2], seed=0)
    opt = load_backend("nn", "numpy").make_optimizer(model, TrainConfig(progress=False))
    assert isinstance(opt, optim_np.SGD)
    assert (opt.lr, opt.momentum, opt.dampening, opt.nesterov, opt.weight_decay) == (
        0.05,
        0.9,
        0.0,
        False,
        0.0,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "adamax"}, "TrainConfig.optimizer must be one of sgd, momentum"),
        ({"betas": (0.9, 1.2)}, r"betas must be two numbers in \[0, 1\)"),
        ({"eps": 0.0}, "eps must be positive"),
    ],
)
def test_train_config_explains_bad_optimizer_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_train_config_passes_each_optimizer_only_its_hyper_parameters() -> None:
    assert TrainConfig(optimizer="adam").optimizer_hparams() == {
        "lr": 0.05,
        "weight_decay": 0.0,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
    }
    assert TrainConfig(optimizer="adagrad").optimizer_hparams() == {"lr": 0.05, "weight_decay": 0.0}
    assert TrainConfig(optimizer="rmsprop", momentum=0.5).optimizer_hparams()["momentum"] == 0.5


def test_tensorflow_step_is_traced_once_for_all_batch_sizes() -> None:
    nn = load_backend("nn", "tensorflow")
    model = nn.MLP([5, 7, 3], seed=0)
    optimizer = nn.make_optimizer(model, TrainConfig(progress=False))
    rng = np.random.default_rng(0)
    for batch in (32, 32, 10, 1):  # the last batch of an epoch is usually smaller
        x = rng.normal(size=(batch, 5)).astype(np.float32)
        nn.train_step(model, optimizer, x, rng.integers(0, 3, size=batch))
    assert optimizer.dlbook_step.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_train_step_validates_labels(backend: str) -> None:
    nn = load_backend("nn", backend)
    model = nn.MLP([5, 3], seed=0)
    optimizer = nn.make_optimizer(model, TrainConfig(progress=False))
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        nn.train_step(model, optimizer, np.zeros((2, 5), np.float32), np.array([0, 3]))


@pytest.mark.parametrize("backend", ["numpy", "torch", "tensorflow"])
def test_val_loss_is_recorded_and_matches_evaluate_loss(backend: str) -> None:
    from dlbook.nn import backend as nn_backend

    data = load_digits_split()
    model = nn_backend(backend).MLP([64, 16, 10], seed=0)
    history = fit(backend, model, data, TrainConfig(epochs=2, progress=False))
    assert len(history.val_loss) == 2 and history.val_loss[1] < history.val_loss[0]
    final = nn_backend(backend).evaluate_loss(model, data.x_val, data.y_val)
    assert final == pytest.approx(history.val_loss[-1], rel=1e-6)


def test_early_stopping_restores_the_best_weights() -> None:
    import dataclasses

    from dlbook.nn import numpy_backend as nn_np

    full = load_digits_split(dtype="float64")
    tiny = dataclasses.replace(full, x_train=full.x_train[:60], y_train=full.y_train[:60])
    model = nn_np.MLP([64, 128, 10], seed=0, dtype="float64")
    config = TrainConfig(epochs=300, batch_size=20, lr=0.05, patience=5, progress=False)
    history = fit("numpy", model, tiny, config)
    assert history.stopped_early and len(history.val_loss) < 300
    assert len(history.val_loss) == history.best_epoch + 1 + 5
    best = min(history.val_loss)
    assert nn_np.evaluate_loss(model, tiny.x_val, tiny.y_val) == pytest.approx(best, rel=1e-12)


def test_patience_is_validated() -> None:
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0)
