"""Training through the shared loop ``dlbook.nn.fit``: every backend learns, and learns the same.

The slow tests train on the digits (seconds each); the fast ones check single steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from dlbook.backends import BACKENDS, load_backend
from dlbook.data import DataSplit
from dlbook.nn import TrainConfig, accuracy, fit

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


def _steps(backend: str, config: TrainConfig, n_steps: int = 5) -> dict[str, np.ndarray]:
    """Weights after ``n_steps`` SGD steps on fixed random batches (float64)."""
    nn = load_backend("nn", backend)
    model = nn.MLP([6, 9, 4], "tanh", seed=2, dtype="float64")
    optimizer = nn.make_optimizer(model, config)
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
