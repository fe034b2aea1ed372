"""Every from-scratch optimizer follows ``torch.optim`` step for step (float64, 100 steps).

Both sides are built by name through the backends' ``make``, so the factories'
translations are tested too. Gradients are computed in NumPy from each side's
own parameters (see ``problem.py``): after every step, the relative error of
each parameter must stay below 1e-10. Measured: at most 7e-16, in every case.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from dlbook.optim import PRESETS
from dlbook.optim import numpy_backend as optim_np

from .problem import CASES, RTOL, WEIGHT_DECAYS, case_id, problem, trajectory_errors

torch = pytest.importorskip("torch")
optim_torch = pytest.importorskip("dlbook.optim.torch_backend")


def torch_errors(name: str, hparams: dict[str, Any], scale: float = 1.0) -> np.ndarray:
    """Per-step relative error of the NumPy optimizer against torch's, on the test problem."""
    start, grads = problem(scale=scale)
    ours = [p.copy() for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt = optim_np.make(name, ours, **hparams)
    ref = optim_torch.make(name, theirs, **hparams)

    def step_ours() -> list[np.ndarray]:
        opt.step(grads(*ours))
        return ours

    def step_theirs() -> list[np.ndarray]:
        arrays = [t.detach().numpy() for t in theirs]  # views: they follow the updates
        optim_torch.apply(ref, theirs, grads(*arrays))
        return arrays

    return trajectory_errors(step_ours, step_theirs)


@pytest.mark.parametrize("weight_decay", WEIGHT_DECAYS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_optimizer_matches_torch_for_100_steps(case: tuple, weight_decay: float) -> None:
    name, hparams = case
    errors = torch_errors(name, {**hparams, "weight_decay": weight_decay})
    worst = int(np.argmax(errors))
    assert errors[worst] < RTOL, f"step {worst}: relative error {errors[worst]:.2e}"


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam", "adamw"])
def test_torch_parity_holds_when_eps_dominates(name: str) -> None:
    """Gradients of size 1e-8: the update is mostly eps, and still matches torch."""
    errors = torch_errors(name, {"lr": 0.01}, scale=1e-8)
    assert errors.max() < RTOL


def test_the_problem_moves_every_parameter() -> None:
    """Guard against a vacuous parity test: the parameters do travel."""
    start, grads = problem()
    params = [p.copy() for p in start]
    opt = optim_np.make("adam", params, lr=0.01)
    for _ in range(100):
        opt.step(grads(*params))
    assert all(np.linalg.norm(p - q) > 0.1 for p, q in zip(params, start, strict=True))


@pytest.mark.parametrize("cls_name", sorted({cls for cls, _ in PRESETS.values()}))
def test_defaults_are_torchs(cls_name: str) -> None:
    """Same names and defaults as torch.optim (torch's SGD defaults lr to 1e-3; ours asks)."""
    ours = inspect.signature(getattr(optim_np, cls_name)).parameters
    theirs = inspect.signature(getattr(torch.optim, cls_name)).parameters
    for name, param in ours.items():
        if name in ("params", "eps_placement") or (cls_name, name) == ("SGD", "lr"):
            continue
        assert name in theirs, f"torch.optim.{cls_name} has no argument {name}"
        assert param.default == theirs[name].default, f"{cls_name}.{name}"


def test_make_builds_the_torch_class_with_the_preset() -> None:
    params = [torch.zeros(3, requires_grad=True)]
    opt = optim_torch.make("nesterov", params, lr=0.1)
    assert isinstance(opt, torch.optim.SGD)
    group = opt.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["lr"]) == (0.9, True, 0.1)
    assert isinstance(optim_torch.make("adamw", params), torch.optim.AdamW)


def test_torch_make_refuses_the_keras_eps_placement() -> None:
    with pytest.raises(ValueError, match="after the bias correction"):
        optim_torch.make("adam", [torch.zeros(2, requires_grad=True)], eps_placement="keras")


def test_torch_apply_checks_the_gradients() -> None:
    params = [torch.zeros(2, requires_grad=True), torch.zeros((3, 2), requires_grad=True)]
    opt = optim_torch.make("sgd", params, lr=0.1)
    with pytest.raises(ValueError, match=r"Gradient 1 has shape \(2, 3\)"):
        optim_torch.apply(opt, params, [np.ones(2), np.ones((2, 3))])
