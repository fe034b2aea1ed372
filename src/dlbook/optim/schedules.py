"""Learning-rate schedules in closed form, equal to ``torch.optim.lr_scheduler`` step by step.

``schedule.lr_at(t)`` (or ``schedule(t)``) is the learning rate of optimizer step
``t = 0, 1, 2, ...``: the lr torch's optimizer holds after the scheduler has
been stepped ``t`` times (torch's ``last_epoch = t``). Torch updates its lr
recursively, ours is computed directly from ``t``; ``tests/optim/test_schedules.py``
checks that the two agree to 1e-12 for 200 steps.

Use with any backend's optimizer::

    sched = WarmupCosine(base_lr=1e-3, warmup_steps=100, total_steps=1000)
    for t in range(1000):
        apply_schedule(optimizer, sched, t)   # before step t
        ...one optimizer step...
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any


def _check(base_lr: float, **steps: int) -> None:
    if not base_lr > 0:
        raise ValueError(f"base_lr must be positive, got {base_lr!r}.")
    for name, value in steps.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _check_step(step: int) -> int:
    try:
        t = operator.index(step)  # ints and NumPy integers, not floats
    except TypeError:
        t = -1
    if t < 0:
        raise ValueError(f"step must be an integer >= 0 (0 is the first step), got {step!r}.")
    return t


class _Schedule:
    """``schedule(t)`` is ``schedule.lr_at(t)``."""

    def lr_at(self, step: int) -> float:
        raise NotImplementedError

    def __call__(self, step: int) -> float:
        return self.lr_at(step)


@dataclass(frozen=True)
class StepLR(_Schedule):
    """lr_t = base_lr * gamma ** (t // step_size): divide by 1/gamma every step_size steps.

    As ``torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma)``.
    """

    base_lr: float  # learning rate of the first step_size steps
    step_size: int  # steps between two decays
    gamma: float = 0.1  # factor applied at each decay

    def __post_init__(self) -> None:
        _check(self.base_lr, step_size=self.step_size)

    def lr_at(self, step: int) -> float:
        return self.base_lr * self.gamma ** (_check_step(step) // self.step_size)


@dataclass(frozen=True)
class CosineAnnealingLR(_Schedule):
    """lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2.

    Half a cosine from base_lr (t = 0) down to eta_min (t = T_max). Like
    ``torch.optim.lr_scheduler.CosineAnnealingLR``, it does not stop there: for
    t > T_max the same formula climbs back up, with period 2 T_max.
    """

    base_lr: float  # learning rate at t = 0
    T_max: int  # steps from base_lr down to eta_min
    eta_min: float = 0.0  # the lowest learning rate

    def __post_init__(self) -> None:
        _check(self.base_lr, T_max=self.T_max)

    def lr_at(self, step: int) -> float:
        cos = math.cos(math.pi * _check_step(step) / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + cos) / 2


@dataclass(frozen=True)
class LinearWarmup(_Schedule):
    """lr_t = base_lr * (s + (1 - s) min(t, warmup_steps) / warmup_steps), s = start_factor.

    A straight line from ``s * base_lr`` at t = 0 up to base_lr at t =
    warmup_steps, constant after. As ``torch.optim.lr_scheduler.LinearLR(optimizer,
    start_factor=s, end_factor=1.0, total_iters=warmup_steps)``, whose default s is 1/3.
    """

    base_lr: float  # learning rate once warm
    warmup_steps: int  # steps to climb from start_factor * base_lr to base_lr
    start_factor: float = 1.0 / 3  # first lr as a fraction of base_lr, in (0, 1]

    def __post_init__(self) -> None:
        _check(self.base_lr, warmup_steps=self.warmup_steps)
        if not 0 < self.start_factor <= 1:
            raise ValueError(f"start_factor must lie in (0, 1], got {self.start_factor!r}.")

    def lr_at(self, step: int) -> float:
        frac = min(_check_step(step), self.warmup_steps) / self.warmup_steps
        return self.base_lr * (self.start_factor + (1 - self.start_factor) * frac)


@dataclass(frozen=True)
class WarmupCosine(_Schedule):
    """Linear warm-up for warmup_steps, then a cosine down to eta_min at total_steps.

    With W = warmup_steps and T = total_steps - W::

        lr_t = LinearWarmup(base_lr, W, start_factor).lr_at(t)                     t < W
        lr_t = CosineAnnealingLR(base_lr, T, eta_min).lr_at(t - W)                 t >= W

    This is exactly torch's ``SequentialLR(optimizer, [LinearLR(optimizer,
    start_factor, total_iters=W), CosineAnnealingLR(optimizer, T_max=T,
    eta_min)], milestones=[W])``: at the milestone t = W, SequentialLR restarts
    the cosine at its own step 0 (lr = base_lr, which is also where the warm-up
    ends), so there is no offset between the two pieces. Past total_steps the
    cosine climbs back up, as torch's does.
    """

    base_lr: float  # peak learning rate, reached at t = warmup_steps
    warmup_steps: int  # W: steps of linear warm-up
    total_steps: int  # the cosine reaches eta_min at this step
    eta_min: float = 0.0  # the lowest learning rate
    start_factor: float = 1.0 / 3  # first lr as a fraction of base_lr (torch LinearLR's default)

    def __post_init__(self) -> None:
        _check(self.base_lr, warmup_steps=self.warmup_steps, total_steps=self.total_steps)
        if self.total_steps <= self.warmup_steps:
            raise ValueError(
                f"total_steps ({self.total_steps}) must exceed warmup_steps "
                f"({self.warmup_steps}): the cosine needs at least one step."
            )
        LinearWarmup(self.base_lr, self.warmup_steps, self.start_factor)  # checks start_factor

    def lr_at(self, step: int) -> float:
        if _check_step(step) < self.warmup_steps:
            return LinearWarmup(self.base_lr, self.warmup_steps, self.start_factor).lr_at(step)
        T = self.total_steps - self.warmup_steps
        return CosineAnnealingLR(self.base_lr, T, self.eta_min).lr_at(step - self.warmup_steps)


def apply_schedule(optimizer: Any, schedule: Any, step: int) -> float:
    """Set the learning rate of ``optimizer`` to ``schedule(step)``, and return it.

    Works for the NumPy optimizers (``optimizer.lr``), ``torch.optim`` (every
    param group's ``"lr"``) and Keras (``optimizer.learning_rate``).
    """
    lr = float(schedule(step))
    if hasattr(optimizer, "param_groups"):  # torch.optim
        for group in optimizer.param_groups:
            group["lr"] = lr
    elif hasattr(optimizer, "lr"):  # dlbook.optim.numpy_backend
        optimizer.lr = lr
    else:  # keras.optimizers
        optimizer.learning_rate = lr
    return lr
