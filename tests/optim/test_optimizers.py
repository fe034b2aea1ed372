"""The from-scratch optimizers by hand, the factory ``make``, and the messages they give.

First steps are checked on numbers that can be followed with pen and paper; the
long runs against torch and Keras are in ``test_parity_*.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlbook.optim import OPTIMIZERS
from dlbook.optim import numpy_backend as optim_np
from dlbook.optim.numpy_backend import SGD, Adagrad, Adam, AdamW, RMSprop


def test_adam_first_step_is_lr_times_the_sign_of_g() -> None:
    """At t = 1, m / c1 = g and v / c2 = g^2: the step is lr g / (|g| + eps)."""
    w = np.array([1.0, 1.0, 1.0])
    opt = Adam([w], lr=0.1, eps=1e-12)
    opt.step([np.array([3.0, -0.001, 0.0])])
    np.testing.assert_allclose(w, [0.9, 1.1, 1.0])
    np.testing.assert_allclose(opt.state[0]["exp_avg"], [0.3, -0.0001, 0.0])
    np.testing.assert_allclose(opt.state[0]["exp_avg_sq"], [0.009, 1e-9, 0.0])


def test_adam_eps_placements_differ_exactly_as_documented() -> None:
    """Keras's eps is torch's eps / sqrt(c2): at t = 1, c2 = 1 - beta2."""
    g, eps = np.array([1e-4]), 1e-4
    torch_w, keras_w = np.zeros(1), np.zeros(1)
    Adam([torch_w], lr=1.0, eps=eps).step([g])
    Adam([keras_w], lr=1.0, eps=eps, eps_placement="keras").step([g])
    c2 = 1 - 0.999
    np.testing.assert_allclose(torch_w, -g / (g + eps))
    np.testing.assert_allclose(keras_w, -g / (g + eps / np.sqrt(c2)))


def test_amsgrad_keeps_the_largest_second_moment() -> None:
    opt = Adam([np.zeros(1)], lr=0.1, amsgrad=True)
    opt.step([np.array([10.0])])
    opt.step([np.array([0.0])])
    state = opt.state[0]
    assert state["max_exp_avg_sq"][0] == pytest.approx(0.1)  # (1 - 0.999) * 10^2
    assert state["exp_avg_sq"][0] < state["max_exp_avg_sq"][0]


def test_adamw_shrinks_the_weights_not_the_gradient() -> None:
    """With g = 0, AdamW only decays w; Adam's L2 would turn lambda w into a full-size step."""
    w_adamw, w_adam = np.array([2.0]), np.array([2.0])
    AdamW([w_adamw], lr=0.1, weight_decay=0.5).step([np.zeros(1)])
    Adam([w_adam], lr=0.1, weight_decay=0.5).step([np.zeros(1)])
    np.testing.assert_allclose(w_adamw, [2.0 * (1 - 0.1 * 0.5)])  # 1.9
    np.testing.assert_allclose(w_adam, [1.9], atol=1e-6)  # g = 1: sign step of size lr
    w_adamw[:] = 200.0
    w_adam[:] = 200.0
    AdamW([w_adamw], lr=0.1, weight_decay=0.5).step([np.zeros(1)])
    Adam([w_adam], lr=0.1, weight_decay=0.5).step([np.zeros(1)])
    assert w_adamw[0] == pytest.approx(190.0) and w_adam[0] == pytest.approx(199.9)


def test_adagrad_divides_by_the_root_of_the_summed_squares() -> None:
    w = np.zeros(2)
    opt = Adagrad([w], lr=1.0, eps=1e-300)
    opt.step([np.array([3.0, 4.0])])  # each coordinate moves by lr
    opt.step([np.array([4.0, 3.0])])  # sums 25 and 25: steps 4/5, 3/5
    np.testing.assert_allclose(w, [-1.8, -1.6])
    np.testing.assert_allclose(opt.state[0]["sum"], [25.0, 25.0])


def test_rmsprop_normalises_by_the_running_rms() -> None:
    w = np.zeros(1)
    RMSprop([w], lr=0.1, alpha=0.75, eps=1e-300).step([np.array([2.0])])
    np.testing.assert_allclose(w, [-0.1 * 2 / np.sqrt(0.25 * 4)])  # v = 0.25 * 4 = 1


def test_centered_rmsprop_tracks_the_mean_gradient() -> None:
    opt = RMSprop([np.zeros(2)], lr=0.1, centered=True, momentum=0.5)
    opt.step([np.array([1.0, -1.0])])
    np.testing.assert_allclose(opt.state[0]["grad_avg"], [0.01, -0.01])
    assert set(opt.state[0]) == {"square_avg", "grad_avg", "momentum_buffer"}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_make_builds_every_optimizer_and_each_descends(name: str) -> None:
    w = np.array([3.0, -2.0])
    opt = optim_np.make(name, [w], lr=1.0 if name == "adagrad" else 0.1)
    for _ in range(50):
        optim_np.apply(opt, [w], [2 * w])  # L = |w|^2
    assert np.linalg.norm(w) < np.linalg.norm([3.0, -2.0]) / 2


def test_make_applies_presets_that_you_may_override() -> None:
    assert isinstance(optim_np.make("momentum", [np.zeros(1)], lr=0.1), SGD)
    assert optim_np.make("momentum", [np.zeros(1)], lr=0.1).momentum == 0.9
    assert optim_np.make("momentum", [np.zeros(1)], lr=0.1, momentum=0.5).momentum == 0.5
    nesterov = optim_np.make("Nesterov", [np.zeros(1)], lr=0.1)
    assert nesterov.nesterov and nesterov.momentum == 0.9
    assert optim_np.make("adamw", [np.zeros(1)]).weight_decay == 0.01  # torch's default


@pytest.mark.parametrize(
    "name, hparams, error, message",
    [
        ("adamax", {}, ValueError, "Unknown optimizer 'adamax'. Choose one of sgd, momentum"),
        ("sgd", {}, TypeError, r"sgd needs a learning rate: make\('sgd', params, lr=0.1\)"),
        ("adam", {"learning_rate": 0.1}, TypeError, "'learning_rate' \\(did you mean 'lr'\\?\\)"),
        ("adam", {"beta_1": 0.9}, TypeError, "did you mean 'betas'"),
        ("rmsprop", {"rho": 0.9}, TypeError, "did you mean 'alpha'"),
        ("adam", {"momentum": 0.9}, TypeError, "adam has no hyper-parameter 'momentum'; it takes"),
        ("adam", {"lr": -1.0}, ValueError, "lr must be positive, got -1.0"),
        ("adam", {"betas": (0.9, 1.0)}, ValueError, r"betas must be two numbers in \[0, 1\)"),
        ("adam", {"betas": 0.9}, ValueError, r"betas must be two numbers in \[0, 1\)"),
        ("adam", {"eps": 0.0}, ValueError, "eps must be positive"),
        ("adagrad", {"eps": -1e-10}, ValueError, "eps must be positive"),
        ("adam", {"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0"),
        ("adagrad", {"lr_decay": -1}, ValueError, "lr_decay must be >= 0"),
        ("rmsprop", {"alpha": 1.0}, ValueError, r"alpha must lie in \[0, 1\)"),
        ("momentum", {"lr": 0.1, "dampening": 2}, ValueError, r"dampening must lie in \[0, 1\]"),
        ("adam", {"eps_placement": "tf"}, ValueError, "eps_placement must be 'torch' or 'keras'"),
        ("adam", {"lr": "0.1"}, ValueError, "lr must be a number, got '0.1'"),
    ],
)
def test_make_explains_bad_hyper_parameters(
    name: str, hparams: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        optim_np.make(name, [np.zeros(2)], **hparams)


def test_numpy_float32_hyper_parameters_are_numbers() -> None:
    opt = optim_np.make("adam", [np.zeros(2)], lr=np.float32(0.1), betas=(np.float32(0.9), 0.99))
    opt.step([np.ones(2)])


def test_gradients_are_checked_against_their_parameters() -> None:
    opt = Adam([np.zeros(2), np.zeros((3, 4))])
    with pytest.raises(ValueError, match="Expected 2 gradients, got 3"):
        opt.step([np.zeros(2), np.zeros((3, 4)), np.zeros(1)])
    with pytest.raises(ValueError, match=r"Gradient 1 has shape \(4, 3\) but its parameter has"):
        opt.step([np.zeros(2), np.zeros((4, 3))])
    assert opt.step_count == 0  # nothing moved


def test_parameters_must_be_float_arrays() -> None:
    with pytest.raises(TypeError, match="Parameter 0 must be a floating-point NumPy array"):
        Adam([[1.0, 2.0]])
    with pytest.raises(TypeError, match="got ndarray of dtype int64"):
        Adam([np.zeros(2, dtype=np.int64)])


def test_apply_wants_the_optimizers_own_parameters() -> None:
    w = np.zeros(2)
    opt = Adam([w])
    with pytest.raises(ValueError, match="params must be the arrays the optimizer was made with"):
        optim_np.apply(opt, [w.copy()], [np.ones(2)])


def test_repr_lists_the_hyper_parameters() -> None:
    text = repr(Adam([np.zeros(2)], lr=0.1))
    assert text.startswith("Adam(1 parameters, lr=0.1, betas=(0.9, 0.999), eps=1e-08")
