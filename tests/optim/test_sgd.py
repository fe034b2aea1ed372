"""The from-scratch SGD follows ``torch.optim.SGD`` step for step.

Problem: two parameters, a vector w (5,) and a matrix V (4, 3), on the float64
least-squares loss L = 1/2 |A w - a|^2 + 1/2 |X V - Y|^2. The gradients are
computed once in NumPy and handed to both optimizers, so only the update rules
are compared: after each of 50 steps, |w_ours - w_torch| / |w_torch| < 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.optim.numpy_backend import SGD

N_STEPS = 50
RTOL = 1e-10


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    A, a = rng.normal(size=(20, 5)), rng.normal(size=20)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    start = [rng.normal(size=5), rng.normal(size=(4, 3))]

    def grads(w: np.ndarray, V: np.ndarray) -> list[np.ndarray]:
        return [A.T @ (A @ w - a), X.T @ (X @ V - Y)]  # dL/dw (5,), dL/dV (4, 3)

    return start, grads


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_for_50_steps(momentum: float, weight_decay: float) -> None:
    torch = pytest.importorskip("torch")
    start, grads = _problem()
    ours = [p.copy() for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt = SGD(ours, lr=0.01, momentum=momentum, weight_decay=weight_decay)
    ref = torch.optim.SGD(theirs, lr=0.01, momentum=momentum, weight_decay=weight_decay)
    for step in range(N_STEPS):
        opt.step(grads(*ours))
        for t, g in zip(theirs, grads(*(t.detach().numpy() for t in theirs)), strict=True):
            t.grad = torch.from_numpy(g)
        ref.step()
        for mine, t in zip(ours, theirs, strict=True):
            assert _rel(mine, t.detach().numpy()) < RTOL, f"step {step}"
    assert not np.allclose(ours[0], start[0])  # it did move


def test_keras_momentum_convention_gives_the_same_path_for_constant_lr() -> None:
    """Keras: v = m v - lr g, w += v.  Torch: v = m v + g, w -= lr v.  Same weights."""
    from dlbook._lazy import import_tensorflow

    tf = import_tensorflow()
    import keras

    start, grads = _problem(1)
    ours = [p.copy() for p in start]
    variables = [tf.Variable(p) for p in start]
    lr, momentum = np.float64(0.01), np.float64(0.9)  # float64 scalars: see make_optimizer
    opt = SGD(ours, lr=float(lr), momentum=float(momentum))
    keras_opt = keras.optimizers.SGD(learning_rate=lambda: lr, momentum=momentum)
    for _ in range(N_STEPS):
        opt.step(grads(*ours))
        g = grads(*(v.numpy() for v in variables))
        keras_opt.apply_gradients(zip([tf.constant(x) for x in g], variables, strict=True))
    for mine, v in zip(ours, variables, strict=True):
        assert _rel(mine, v.numpy()) < RTOL


def test_sgd_updates_in_place_and_keeps_velocity() -> None:
    w = np.array([1.0, 2.0])
    opt = SGD([w], lr=0.5, momentum=0.5)
    opt.step([np.array([1.0, 0.0])])  # v = g
    np.testing.assert_allclose(w, [0.5, 2.0])
    opt.step([np.array([1.0, 0.0])])  # v = 0.5 * 1 + 1 = 1.5
    np.testing.assert_allclose(w, [-0.25, 2.0])


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan")])
def test_sgd_rejects_bad_learning_rates(lr: float) -> None:
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD([np.zeros(2)], lr=lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_sgd_rejects_bad_momentum(momentum: float) -> None:
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        SGD([np.zeros(2)], lr=0.1, momentum=momentum)


def test_sgd_wants_one_gradient_per_parameter() -> None:
    opt = SGD([np.zeros(2), np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="Expected 2 gradients, got 1"):
        opt.step([np.zeros(2)])
