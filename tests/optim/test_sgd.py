"""The from-scratch SGD by hand: each option's update on numbers small enough to check.

``test_parity_torch.py`` and ``test_parity_keras.py`` compare it with the
frameworks for 100 steps; here each line of its docstring is checked once.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.optim.numpy_backend import SGD


def test_plain_sgd_steps_against_the_gradient() -> None:
    w = np.array([1.0, 2.0])
    SGD([w], lr=0.5).step([np.array([1.0, -2.0])])
    np.testing.assert_allclose(w, [0.5, 3.0])


def test_sgd_updates_in_place_and_keeps_velocity() -> None:
    w = np.array([1.0, 2.0])
    opt = SGD([w], lr=0.5, momentum=0.5)
    opt.step([np.array([1.0, 0.0])])  # b = g
    np.testing.assert_allclose(w, [0.5, 2.0])
    opt.step([np.array([1.0, 0.0])])  # b = 0.5 * 1 + 1 = 1.5
    np.testing.assert_allclose(w, [-0.25, 2.0])
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [1.5, 0.0])
    assert opt.step_count == 2


def test_dampening_spares_the_first_step_as_torch_does() -> None:
    w = np.array([0.0])
    opt = SGD([w], lr=1.0, momentum=0.5, dampening=0.5)
    opt.step([np.array([1.0])])  # b = g = 1 (no dampening on step 1)
    opt.step([np.array([1.0])])  # b = 0.5 * 1 + (1 - 0.5) * 1 = 1
    np.testing.assert_allclose(w, [-2.0])


def test_nesterov_looks_ahead_along_the_buffer() -> None:
    w = np.array([0.0])
    opt = SGD([w], lr=1.0, momentum=0.5, nesterov=True)
    opt.step([np.array([1.0])])  # b = 1; step g + 0.5 b = 1.5
    opt.step([np.array([1.0])])  # b = 1.5; step 1 + 0.75 = 1.75
    np.testing.assert_allclose(w, [-3.25])


def test_weight_decay_is_added_to_the_gradient() -> None:
    w = np.array([2.0])
    SGD([w], lr=0.1, weight_decay=0.5).step([np.array([0.0])])  # g = 0 + 0.5 * 2
    np.testing.assert_allclose(w, [1.9])


def test_float32_parameters_stay_float32() -> None:
    w = np.ones(3, np.float32)
    SGD([w], lr=0.1, momentum=0.9).step([np.ones(3)])  # float64 gradient
    assert w.dtype == np.float32 and np.allclose(w, 0.9)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_sgd_rejects_bad_learning_rates(lr: float) -> None:
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD([np.zeros(2)], lr=lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5])
def test_sgd_rejects_bad_momentum(momentum: float) -> None:
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        SGD([np.zeros(2)], lr=0.1, momentum=momentum)


@pytest.mark.parametrize("momentum, dampening", [(0.0, 0.0), (0.9, 0.1)])
def test_nesterov_needs_momentum_and_no_dampening(momentum: float, dampening: float) -> None:
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0 and dampening = 0"):
        SGD([np.zeros(2)], lr=0.1, momentum=momentum, dampening=dampening, nesterov=True)


def test_sgd_wants_one_gradient_per_parameter() -> None:
    opt = SGD([np.zeros(2), np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="Expected 2 gradients, got 1"):
        opt.step([np.zeros(2)])
