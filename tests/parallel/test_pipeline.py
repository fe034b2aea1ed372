"""The simulated GPipe schedule respects its dependencies and has the bubble of the formula."""

from __future__ import annotations

import pytest

from dlbook.parallel.pipeline import bubble_fraction, simulate_pipeline


@pytest.mark.parametrize("p", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("m", [1, 2, 4, 7, 16])
def test_simulated_bubble_equals_formula(p: int, m: int) -> None:
    sched = simulate_pipeline(p, m)
    assert sched.bubble_fraction == pytest.approx(bubble_fraction(p, m), abs=1e-12)
    assert sched.bubble_fraction == pytest.approx((p - 1) / (m + p - 1), abs=1e-12)
    assert sched.makespan == pytest.approx((m + p - 1) * 3.0)


def test_schedule_respects_dependencies_and_never_overlaps() -> None:
    p, m = 4, 6
    sched = simulate_pipeline(p, m, t_forward=1.0, t_backward=1.5)
    end = {(t.kind, t.stage, t.micro_batch): t.end for t in sched.tasks}
    start = {(t.kind, t.stage, t.micro_batch): t.start for t in sched.tasks}
    assert len(sched.tasks) == 2 * p * m
    for s in range(p):
        for j in range(m):
            if s > 0:
                assert start["F", s, j] >= end["F", s - 1, j]
            if s < p - 1:
                assert start["B", s, j] >= end["B", s + 1, j]
            assert start["B", s, j] >= end["F", s, j]
        mine = sorted((t.start, t.end) for t in sched.tasks if t.stage == s)
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False))


def test_more_micro_batches_shrink_the_bubble() -> None:
    fractions = [bubble_fraction(4, m) for m in (1, 4, 16, 64)]
    assert fractions == sorted(fractions, reverse=True) and fractions[-1] < 0.05


@pytest.mark.parametrize(("p", "m"), [(0, 4), (4, 0), (2.5, 4), (True, 3)])
def test_bad_sizes_explain_themselves(p, m) -> None:
    with pytest.raises(ValueError, match="positive int"):
        simulate_pipeline(p, m)
    with pytest.raises(ValueError, match="positive int"):
        bubble_fraction(p, m)
