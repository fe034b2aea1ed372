"""The closed-form schedules equal ``torch.optim.lr_scheduler`` step by step (200 steps, 1e-12).

Torch updates the lr recursively from the previous one; ours computes it from t.
Measured: within 2e-15 relative (torch's recursion rounds a little at each step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dlbook.optim import numpy_backend as optim_np
from dlbook.optim.schedules import (
    CosineAnnealingLR,
    LinearWarmup,
    StepLR,
    WarmupCosine,
    apply_schedule,
)

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

N_STEPS = 200
RTOL = 1e-12
BASE_LR = 0.1


def torch_lrs(make_scheduler: Callable[[Any], Any], n_steps: int = N_STEPS) -> np.ndarray:
    """The lr of optimizer steps 0 .. n_steps - 1 under a torch scheduler."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=BASE_LR)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(n_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradient: a no-op, but torch wants it before scheduler.step()
        scheduler.step()
    return np.array(lrs)


PAIRS = {
    "step": (StepLR(BASE_LR, step_size=30, gamma=0.5), lambda o: lr_scheduler.StepLR(o, 30, 0.5)),
    "cosine": (
        CosineAnnealingLR(BASE_LR, T_max=200, eta_min=1e-3),
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=200, eta_min=1e-3),
    ),
    "cosine-past-T_max": (  # torch's cosine climbs back up after T_max; so does ours
        CosineAnnealingLR(BASE_LR, T_max=70),
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=70),
    ),
    "linear-warmup": (
        LinearWarmup(BASE_LR, warmup_steps=50, start_factor=0.01),
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=50),
    ),
    "linear-warmup-default": (
        LinearWarmup(BASE_LR, warmup_steps=5),
        lambda o: lr_scheduler.LinearLR(o),  # start_factor 1/3, total_iters 5
    ),
    "warmup-cosine": (
        WarmupCosine(BASE_LR, warmup_steps=20, total_steps=200, eta_min=1e-4, start_factor=0.1),
        lambda o: lr_scheduler.SequentialLR(
            o,
            [
                lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=20),
                lr_scheduler.CosineAnnealingLR(o, T_max=180, eta_min=1e-4),
            ],
            milestones=[20],
        ),
    ),
}


@pytest.mark.parametrize("kind", PAIRS)
def test_schedule_matches_torch_for_200_steps(kind: str) -> None:
    ours, make_torch = PAIRS[kind]
    theirs = torch_lrs(make_torch)
    mine = np.array([ours.lr_at(t) for t in range(N_STEPS)])
    np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=0)
    assert [ours(t) for t in range(3)] == list(mine[:3])  # __call__ is lr_at


def test_warmup_cosine_hands_over_without_a_jump() -> None:
    s = WarmupCosine(1.0, warmup_steps=10, total_steps=110, start_factor=0.5)
    assert s(0) == 0.5 and s(5) == 0.75 and s(10) == 1.0  # peak at the milestone
    assert s(9) < s(10) and s(11) < s(10)
    assert s(110) == pytest.approx(0.0, abs=1e-15)


def test_closed_forms_at_a_glance() -> None:
    assert [StepLR(1.0, 2, 0.5)(t) for t in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    cos = CosineAnnealingLR(2.0, T_max=4, eta_min=1.0)
    assert cos(0) == 2.0 and cos(2) == pytest.approx(1.5) and cos(4) == 1.0
    assert LinearWarmup(1.0, 4, start_factor=0.2)(100) == 1.0


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: StepLR(0.0, 10), "base_lr must be positive"),
        (lambda: CosineAnnealingLR(0.1, T_max=0), "T_max must be a positive integer"),
        (lambda: LinearWarmup(0.1, 10, start_factor=0.0), r"start_factor must lie in \(0, 1\]"),
        (lambda: WarmupCosine(0.1, 100, 100), "must exceed warmup_steps"),
        (lambda: StepLR(0.1, 10)(-1), "step must be an integer >= 0"),
        (lambda: StepLR(0.1, 10)(1.5), "step must be an integer >= 0"),
    ],
)
def test_schedules_explain_bad_arguments(build: Callable, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_apply_schedule_sets_the_lr_of_numpy_and_torch_optimizers() -> None:
    schedule = StepLR(1.0, step_size=1, gamma=0.5)
    ours = optim_np.make("adam", [np.zeros(2)])
    theirs = torch.optim.Adam([torch.zeros(2, requires_grad=True)])
    assert apply_schedule(ours, schedule, 3) == 0.125 == ours.lr
    apply_schedule(theirs, schedule, 3)
    assert theirs.param_groups[0]["lr"] == 0.125
    assert apply_schedule(ours, lambda t: 0.01 * t, 2) == 0.02  # any callable will do
