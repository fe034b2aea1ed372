"""``dlbook.optim.tensorflow_backend`` against the from-scratch optimizers, float64 variables.

Where Keras means what torch means (after :func:`make`'s translation), the
paths agree to 1e-10 at every step of 100; measured, at most 1.5e-15: Keras's float
handling costs nothing once lr and every hyper-parameter go in as float64. Where
Keras means something else, a test pins the difference, one per row of the table
in ``dlbook/optim/tensorflow_backend.py``; the NumPy optimizers reproduce Keras's
eps convention with ``eps_placement="keras"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dlbook.optim import numpy_backend as optim_np
from dlbook.optim.schedules import StepLR, apply_schedule

from .problem import CASES, RTOL, WEIGHT_DECAYS, case_id, problem, trajectory_errors

tf = pytest.importorskip("dlbook._lazy").import_tensorflow()
keras = pytest.importorskip("keras")
optim_tf = pytest.importorskip("dlbook.optim.tensorflow_backend")

KERAS_CASES = [case for case in CASES if "dampening" not in case[1]]  # Keras has none
EPS_IN_KERAS_PLACE = {"adagrad", "rmsprop", "adam", "adamw"}


def keras_errors(
    numpy_opt: Callable[[list[np.ndarray]], Any],
    keras_opt: Callable[[list[Any]], Any],
    scale: float = 1.0,
    schedule: Any = None,
) -> np.ndarray:
    """Per-step relative error between a NumPy optimizer and a Keras one, on the test problem.

    ``keras_opt`` gets the variables and returns the optimizer; steps go through
    :func:`dlbook.optim.tensorflow_backend.apply`, so coupled weight decay is added.
    """
    start, grads = problem(scale=scale)
    ours = [p.copy() for p in start]
    variables = [tf.Variable(p) for p in start]
    opt, ref = numpy_opt(ours), keras_opt(variables)
    t = iter(range(10**6))

    def step_ours() -> list[np.ndarray]:
        if schedule is not None:
            apply_schedule(opt, schedule, opt.step_count)
        opt.step(grads(*ours))
        return ours

    def step_theirs() -> list[np.ndarray]:
        if schedule is not None:
            apply_schedule(ref, schedule, next(t))
        optim_tf.apply(ref, variables, grads(*(v.numpy() for v in variables)))
        return [v.numpy() for v in variables]

    return trajectory_errors(step_ours, step_theirs)


def same_via_make(name: str, hparams: dict[str, Any], scale: float = 1.0) -> np.ndarray:
    """NumPy (in Keras's eps placement where it has one) against ``optim_tf.make``, same args."""
    ours = {**hparams, "eps_placement": "keras"} if name in EPS_IN_KERAS_PLACE else hparams
    return keras_errors(
        lambda p: optim_np.make(name, p, **ours),
        lambda v: optim_tf.make(name, v, **hparams),
        scale=scale,
    )


# -- where the semantics match --------------------------------------------------------------


@pytest.mark.parametrize("weight_decay", WEIGHT_DECAYS)
@pytest.mark.parametrize("case", KERAS_CASES, ids=case_id)
def test_keras_matches_for_100_steps(case: tuple, weight_decay: float) -> None:
    """Includes coupled L2 (emulated by apply) and Adagrad's lr_decay (emulated in the lr)."""
    name, hparams = case
    errors = same_via_make(name, {**hparams, "weight_decay": weight_decay})
    worst = int(np.argmax(errors))
    assert errors[worst] < RTOL, f"step {worst}: relative error {errors[worst]:.2e}"


def test_make_translates_names_and_passes_torchs_defaults() -> None:
    v = [tf.Variable(np.zeros(2))]
    rms = optim_tf.make("rmsprop", v)
    assert isinstance(rms, keras.optimizers.RMSprop)
    assert (rms.rho, rms.epsilon, rms.momentum) == (0.99, 1e-8, 0.0)  # Keras: 0.9, 1e-7
    assert float(rms.learning_rate.numpy()) == 0.01  # Keras: 0.001
    adam = optim_tf.make("adam", v, betas=(0.8, 0.99))
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.8, 0.99, 1e-8)
    adamw = optim_tf.make("adamw", v)
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == 0.01 and adamw.coupled_weight_decay == 0.0  # Keras: 0.004
    assert optim_tf.make("nesterov", v, lr=0.1).nesterov


def test_make_builds_the_slots_so_a_compiled_step_runs() -> None:
    v = [tf.Variable(np.ones(3))]
    opt = optim_tf.make("adam", v, lr=0.1)
    assert opt.built

    @tf.function
    def step() -> None:
        optim_tf.apply(opt, v, [tf.ones(3, tf.float64)])

    step()
    assert np.allclose(v[0].numpy(), 0.9)  # Adam's first step is lr * sign(g)


# -- where they differ: each documented difference, pinned --------------------------------


@pytest.mark.parametrize("name", sorted(EPS_IN_KERAS_PLACE))
def test_eps_placement_keras_matches_and_torch_does_not(name: str) -> None:
    """Gradients of size 1e-6 with eps = 1e-6: where eps goes decides the step."""
    hparams = {"lr": 0.01, "eps": 1e-6}

    def run(placement: str) -> np.ndarray:
        return keras_errors(
            lambda p: optim_np.make(name, p, **hparams, eps_placement=placement),
            lambda v: optim_tf.make(name, v, **hparams),
            scale=1e-6,
        )

    assert run("keras").max() < RTOL
    assert run("torch").max() > 1e-3


def test_keras_adagrad_defaults_are_not_torchs() -> None:
    """A bare Keras Adagrad starts its sum at 0.1 with eps = 1e-7; torch at 0 with 1e-10."""
    lr = np.float64(0.1)

    def bare_keras(v: list[Any]) -> Any:
        return keras.optimizers.Adagrad(learning_rate=lambda: lr)

    keras_like = dict(initial_accumulator_value=0.1, eps=1e-7, eps_placement="keras")
    assert keras_errors(lambda p: optim_np.Adagrad(p, lr=lr, **keras_like), bare_keras).max() < RTOL
    assert keras_errors(lambda p: optim_np.Adagrad(p, lr=lr), bare_keras).max() > 1e-3
    assert optim_tf.make("adagrad", [tf.Variable(np.zeros(2))]).initial_accumulator_value == 0


def test_keras_weight_decay_is_decoupled_in_every_optimizer() -> None:
    """Keras's own weight_decay is AdamW's: a bare Keras Adam with it *is* AdamW, not L2."""
    lr, wd, b1, b2 = (np.float64(x) for x in (0.01, 0.1, 0.9, 0.999))  # float64: see below

    def bare_keras_adam(v: list[Any]) -> Any:
        return keras.optimizers.Adam(lambda: lr, b1, b2, epsilon=1e-8, weight_decay=wd)

    hparams = dict(lr=lr, weight_decay=wd, eps_placement="keras")
    assert keras_errors(lambda p: optim_np.AdamW(p, **hparams), bare_keras_adam).max() < RTOL
    assert keras_errors(lambda p: optim_np.Adam(p, **hparams), bare_keras_adam).max() > 1e-4
    sgd = optim_tf.make("sgd", [tf.Variable(np.zeros(2))], lr=0.1, weight_decay=0.1)
    assert sgd.weight_decay is None and sgd.coupled_weight_decay == 0.1  # L2 through apply


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_keras_momentum_remembers_old_learning_rates(name: str) -> None:
    """Keras's v holds lr: identical paths until the lr changes (step 10), different after."""
    schedule = StepLR(base_lr=0.01, step_size=10, gamma=0.5)
    errors = keras_errors(
        lambda p: optim_np.make(name, p, lr=0.01),
        lambda v: optim_tf.make(name, v, lr=0.01),
        schedule=schedule,
    )
    assert errors[:10].max() < RTOL
    assert errors[10:].max() > 1e-4


def test_keras_sgd_has_no_dampening() -> None:
    with pytest.raises(ValueError, match="no dampening"):
        optim_tf.make("momentum", [tf.Variable(np.zeros(2))], lr=0.1, dampening=0.5)


def test_a_plain_float_lr_is_rounded_to_float32_by_keras() -> None:
    """keras.optimizers.SGD(learning_rate=0.01) keeps 0.009999999776; make keeps 0.01."""
    rounded = keras_errors(
        lambda p: optim_np.SGD(p, lr=0.01),
        lambda v: keras.optimizers.SGD(learning_rate=0.01),
    )
    assert 1e-10 < rounded.max() < 1e-6
    assert same_via_make("sgd", {"lr": 0.01}).max() < RTOL


def test_a_plain_float_momentum_is_rounded_to_float32_by_keras() -> None:
    """Keras casts a Python float 0.9 through float32 (0.89999998); np.float64 stays 0.9."""
    lr = np.float64(0.01)
    rounded = keras_errors(
        lambda p: optim_np.SGD(p, lr=lr, momentum=0.9),
        lambda v: keras.optimizers.SGD(learning_rate=lambda: lr, momentum=0.9),
    )
    assert 1e-10 < rounded.max() < 1e-5


def test_keras_eps_placement_is_refused_only_where_it_cannot_apply() -> None:
    v = [tf.Variable(np.zeros(2))]
    with pytest.raises(ValueError, match="eps_placement='keras'"):
        optim_tf.make("adam", v, eps_placement="torch")
    optim_tf.make("adam", v, eps_placement="keras")  # says what Keras does anyway


def test_learning_rate_set_between_steps_reaches_a_compiled_step() -> None:
    """apply_schedule on a Keras optimizer changes the lr inside an already traced tf.function."""
    start, grads = problem()
    ours, variables = [p.copy() for p in start], [tf.Variable(p) for p in start]
    opt, ref = optim_np.make("sgd", ours, lr=0.1), optim_tf.make("sgd", variables, lr=0.1)
    schedule = StepLR(base_lr=0.01, step_size=3, gamma=0.5)

    @tf.function
    def keras_step(*g: tf.Tensor) -> None:
        optim_tf.apply(ref, variables, list(g))

    for t in range(10):
        apply_schedule(opt, schedule, t)
        apply_schedule(ref, schedule, t)
        opt.step(grads(*ours))
        keras_step(*grads(*(v.numpy() for v in variables)))
    assert keras_step.experimental_get_tracing_count() == 1
    for mine, v in zip(ours, variables, strict=True):
        np.testing.assert_allclose(v.numpy(), mine, rtol=1e-13)
    assert float(ref.learning_rate.numpy()) == schedule(9) == opt.lr
