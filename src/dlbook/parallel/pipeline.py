"""Pipeline parallelism: the GPipe schedule, simulated event by event, and its bubble.

The model's layers are cut into p *stages*, one per device, and the batch into
m *micro-batches*. A stage can work on micro-batch j only after the previous
stage has finished it, so at the start and at the end of every batch some stages
wait: the **bubble**. With every forward taking ``t_f`` and every backward
``t_b``, GPipe (Huang et al., 2019) runs all forwards, then all backwards::

    total time = (m + p - 1)(t_f + t_b),   each stage busy m (t_f + t_b)
    bubble fraction = idle / (p * total) = (p - 1) / (m + p - 1)

:func:`simulate_pipeline` builds the schedule from the dependencies alone (it
knows nothing of the formula) and :func:`bubble_fraction` is the formula; the
tests check that they agree. Pure Python: no framework needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlbook.parallel._checks import positive_int


@dataclass(frozen=True)
class Task:
    """One unit of work on one stage."""

    stage: int  # which device (0 = first layers)
    kind: str  # "F" (forward) or "B" (backward)
    micro_batch: int  # which micro-batch, 0 .. m-1
    start: float  # time it starts
    end: float  # time it ends


@dataclass
class Schedule:
    """The tasks of one batch, and what they cost."""

    p: int  # stages
    m: int  # micro-batches
    tasks: list[Task] = field(default_factory=list)  # every task, in the order scheduled

    @property
    def makespan(self) -> float:
        """Time from the first forward to the last backward."""
        return max(t.end for t in self.tasks)

    @property
    def busy(self) -> float:
        """Total working time, summed over the stages."""
        return sum(t.end - t.start for t in self.tasks)

    @property
    def bubble_fraction(self) -> float:
        """Share of the p stages x makespan device-time that is spent waiting."""
        return 1.0 - self.busy / (self.p * self.makespan)


def _check_pm(p: Any, m: Any) -> None:
    positive_int(p, "p", " (the number of stages)")
    positive_int(m, "m", " (the number of micro-batches)")


def bubble_fraction(p: int, m: int) -> float:
    """GPipe's idle share: (p - 1) / (m + p - 1). More micro-batches shrink it."""
    _check_pm(p, m)
    return (p - 1) / (m + p - 1)


def simulate_pipeline(p: int, m: int, t_forward: float = 1.0, t_backward: float = 2.0) -> Schedule:
    """The GPipe schedule of one batch, each task as early as its dependencies allow.

    Forward of micro-batch j on stage s waits for stage s - 1 to finish it and for
    stage s to finish micro-batch j - 1. The backward pass runs the other way
    (stage p-1 first), micro-batches in reverse order, and a stage starts its
    backwards only when all its forwards are done (GPipe's flush).
    """
    _check_pm(p, m)
    if not (t_forward > 0 and t_backward > 0):
        raise ValueError(f"task times must be positive, got {t_forward!r} and {t_backward!r}.")
    sched, done = Schedule(p, m), {}
    free = [0.0] * p  # when each stage is next idle
    for j in range(m):
        for s in range(p):
            start = max(free[s], done.get(("F", s - 1, j), 0.0))
            done["F", s, j] = free[s] = start + t_forward
            sched.tasks.append(Task(s, "F", j, start, start + t_forward))
    for j in reversed(range(m)):
        for s in reversed(range(p)):
            start = max(free[s], done.get(("B", s + 1, j), done["F", p - 1, j]))
            done["B", s, j] = free[s] = start + t_backward
            sched.tasks.append(Task(s, "B", j, start, start + t_backward))
    return sched


def plot_schedule(schedule: Schedule, ax: Any) -> Any:
    """Draw the schedule as stages x time: one box per task, forwards light, backwards dark."""
    from dlbook.plotting import label

    colours = {"F": "#9ecae1", "B": "#3182bd"}
    for t in schedule.tasks:
        ax.barh(t.stage, t.end - t.start, left=t.start, color=colours[t.kind], edgecolor="white")
        ax.text(
            (t.start + t.end) / 2,
            t.stage,
            f"{t.kind}{t.micro_batch}",
            ha="center",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(schedule.p))
    ax.invert_yaxis()
    title = (
        f"GPipe, p = {schedule.p} stages, m = {schedule.m} micro-batches: "
        f"bubble {schedule.bubble_fraction:.0%}"
    )
    label(ax, title, "time (a forward = 1 unit)", "stage")
    return ax
