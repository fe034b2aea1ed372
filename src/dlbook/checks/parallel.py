"""Checks for the exercises of chapter 9 (training at scale: loss scaling, the ring all-reduce).

Each check compares a learner's function with dlbook's own implementation and
recognises the classic mistakes by name::

    from dlbook.checks.parallel import check_ring_all_reduce
    check_ring_all_reduce(ring_all_reduce)   # PASS ✅ ring_all_reduce: correct on 4 test cases.

The references are :func:`dlbook.parallel.mixed_precision.unscale_grads` and
:func:`~dlbook.parallel.mixed_precision.update_scale` (the rules of
``torch.amp.GradScaler``) and :func:`dlbook.parallel.numpy_backend.ring_all_reduce`.
Gradient accumulation has no function of its own in dlbook: its check compares
the learner's mean over micro-batches with the gradient of the whole batch, which
is what accumulation must reproduce.

These functions take and return *lists* of arrays (one per parameter, or one per
rank), so their checks also refuse a learner's function that changes an array
inside an input list, or replaces one (``grads[i] = ...``), and judge each
returned array's type, shape, dtype and values in turn. A ring all-reduce that
goes wrong is diagnosed chunk by chunk: whatever the order in which a learner
numbers the chunks, stopping after the reduce-scatter leaves one finished chunk
per rank, and an all-gather one step short leaves one unfinished chunk per rank.

Shape legend: p = ranks (simulated as entries of a list), n = elements of an array.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from dlbook.checks._core import (
    Case,
    FunctionCheck,
    Mistake,
    describe_type,
    first_mismatch,
    matches,
    same_output,
    scale_factor,
    shape_hint,
    takes,
    type_hint,
)
from dlbook.checks._kinds import ArrayList, JudgedCheck, Judgement, slip_mistakes
from dlbook.parallel import mixed_precision as mp
from dlbook.parallel import numpy_backend as par_np

# ---------------------------------------------------------------------------
# Helpers shared by the checks of this chapter
# ---------------------------------------------------------------------------


def _list_problem(got: Any, expected: Sequence[np.ndarray], label: str, item: str) -> Judgement:
    """Refuse anything but a list (or tuple) of numeric arrays of the expected shapes.

    ``label`` names the list ("`grads`"), ``item`` names element i ("grads[{i}]").
    """
    n = len(expected)
    if isinstance(got, np.ndarray) or not isinstance(got, (list, tuple)):
        return (
            f"{label} is {describe_type(got)}, but a list of {n} NumPy arrays was expected",
            "Return a Python list with one array per entry of the input list.",
        )
    if len(got) != n:
        return (
            f"{label} holds {len(got)} arrays, but {n} were expected, one per input array",
            "Build the output list with one entry per input array, in the same order.",
        )
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        name = item.format(i=i)
        if not isinstance(g, np.ndarray):
            return (
                f"{name} is {describe_type(g)}, but a NumPy array of shape {e.shape} was expected",
                type_hint(g),
            )
        if not (np.issubdtype(g.dtype, np.number) or g.dtype == bool):
            return f"{name} has dtype {g.dtype}, not numbers", "Compute with NumPy number arrays."
        if g.shape != e.shape:
            reshaped = g.size == e.size  # e.g. flattened: its input's values, in another shape
            return (
                f"{name} has shape {g.shape} but should have shape {e.shape}"
                + (", the shape of its input" if reshaped else ""),
                "Reshape the result back: .reshape(a.shape) with the input array a."
                if reshaped
                else shape_hint(g.shape, e.shape),
            )
    return None


# ---------------------------------------------------------------------------
# 1. unscale_grads(grads, scale) -> (grads / scale in float32, found_inf)
# ---------------------------------------------------------------------------


def _fp16_grads(rng: np.random.Generator, shapes, scale: float, bad=()) -> ArrayList:
    """Scaled float16 gradients whose true sizes spread from 2^-27 to 2^-8.

    Times 2^16 they lie between 2^-11 and 2^8, inside float16's normal range.
    Divided *in float16*, most of them would fall below 2^-14 and lose digits, and
    those under 2^-24 flush to 0; and 2^16 itself is inf in float16. For each (i,
    value) in ``bad``, one element of grads[i] is set to that value.
    """
    out = ArrayList()
    for shape in shapes:
        size = 2.0 ** rng.uniform(-27, -8, size=shape)
        sign = rng.choice([-1.0, 1.0], size=shape)
        out.append((sign * size * scale).astype(np.float16))
    for i, value in bad:
        out[i].flat[1] = value
    return out


_NON_FINITE_CASES = (  # (grads[i], value) set in scaled float16 gradients, and the label
    (((0, np.nan), (1, np.inf)), "a NaN in grads[0], an inf in grads[1], grads[2] finite"),
    (((0, -np.inf),), "an overflow: -inf in grads[0], no NaN"),
    (((0, np.nan),), "a NaN in grads[0], no inf"),
    (((1, np.inf), (2, np.nan)), "grads[0] finite, an inf in grads[1] and a NaN in grads[2]"),
)


def _unscale_cases(rng: np.random.Generator) -> list[Case]:
    S = 2.0**16
    shapes = [(4, 3), (5,), (2, 2, 2)]
    fp32 = ArrayList(
        rng.normal(0.0, 1e-3, size=s).astype(np.float32) * 2**10 for s in [(3, 3), (6,)]
    )
    return [
        Case((_fp16_grads(rng, shapes, S), S), label="float16 gradients scaled by 2^16"),
        Case((_fp16_grads(rng, shapes, 2.0**12), 2.0**12), label="float16 gradients, scale 2^12"),
        Case((fp32, 2.0**10), label="float32 gradients (as under torch.autocast), scale 2^10"),
        *[
            Case((_fp16_grads(rng, shapes, S, bad), S), label=label)
            for bad, label in _NON_FINITE_CASES
        ],
        Case(  # float16's max is 65504: any float16 sum of these overflows
            (ArrayList(rng.uniform(5e4, 6e4, size=s).astype(np.float16) for s in shapes), S),
            label="large finite float16 gradients (about 6e4): their float16 sum overflows",
            stress=True,
        ),
    ]


_UNSCALE_HINT = (
    "out = [g.astype(np.float32) / scale for g in grads]; "
    "found_inf = any(not np.isfinite(g).all() for g in grads)."
)
_unscale_mistake = functools.partial(Mistake, hint=_UNSCALE_HINT)

UNSCALE_VALUE_MISTAKES = [
    _unscale_mistake(
        "you multiplied by the scale instead of dividing: the loss was multiplied by S, "
        "so every gradient is S times too large, and unscaling divides it by S.",
        lambda grads, scale: [g.astype(np.float32) * np.float32(scale) for g in grads],
    ),
    _unscale_mistake(
        "you multiplied by the scale instead of dividing, in float16 (where it overflows "
        "to inf): unscaling divides by S.",
        lambda grads, scale: [(g * scale).astype(np.float32) for g in grads],
    ),
    _unscale_mistake(
        "you divided in float16 and cast afterwards. In float16 a scale of 2^16 = 65536 "
        "itself overflows to inf (the largest float16 is 65504), so g / scale is 0; a "
        "smaller scale pushes the small gradients back below 2^-14, where they lose their "
        "digits or flush to 0, which is what the scaling was for. Cast to float32 first, "
        "then divide.",
        lambda grads, scale: [(g / scale).astype(np.float32) for g in grads],
    ),
]

UNSCALE_FLAG_MISTAKES = [
    _unscale_mistake(
        "found_inf only looks for NaN: an overflow gives inf (or -inf), which np.isnan "
        "does not see. Test with np.isfinite, which is False for both.",
        lambda grads, scale: any(np.isnan(g).any() for g in grads),
    ),
    _unscale_mistake(
        "found_inf only looks for inf: 0 · inf and inf − inf give NaN, which np.isinf "
        "does not see. Test with np.isfinite, which is False for both.",
        lambda grads, scale: any(np.isinf(g).any() for g in grads),
    ),
    _unscale_mistake(
        "found_inf only looks at the first gradient: an overflow in any parameter's "
        "gradient spoils the step.",
        lambda grads, scale: not np.isfinite(grads[0]).all(),
    ),
    _unscale_mistake(
        "found_inf only reflects the last gradient: did you assign it in the loop "
        "(found_inf = ...) instead of accumulating it (found_inf = found_inf or ...)?",
        lambda grads, scale: not np.isfinite(grads[-1]).all(),
    ),
]


def _flags(check: JudgedCheck) -> list[tuple[Case, Any]] | None:
    """(case, the learner's found_inf) on every case, or None if a call goes wrong."""
    out = []
    for case in check.make_cases(np.random.default_rng(check.seed)):
        value = check.call_again(*case.args, **case.kwargs).value  # None if it raised
        flag = value[1] if isinstance(value, (tuple, list)) and len(value) == 2 else None
        if not isinstance(flag, (bool, np.bool_)):
            return None
        out.append((case, bool(flag)))
    return out


def _found_inf_problem(
    check: JudgedCheck, found_inf: Any, grads: Sequence[np.ndarray]
) -> Judgement:
    """Is found_inf a bool that says whether any gradient holds inf or NaN?

    A slip is named only if it reproduces the learner's found_inf on *every* case
    (the function is called again on each): a found_inf that is always False would
    otherwise pass for "only the last gradient" on a case whose last gradient is finite.
    """
    expected = any(not np.isfinite(g).all() for g in grads)
    if not isinstance(found_inf, (bool, np.bool_)):
        return (
            f"`found_inf` is {describe_type(found_inf)}, but True or False was expected",
            "Return a bool: bool(...) of a NumPy test, e.g. bool(np.isfinite(g).all()).",
        )
    if bool(found_inf) == expected:
        return None
    tests = (("NaN", np.isnan), ("inf", np.isposinf), ("-inf", np.isneginf))
    bad = [  # 'grads[2] holds NaN', 'grads[0] holds inf and -inf', ...
        f"grads[{i}] holds {' and '.join(k for k, test in tests if test(g).any())}"
        for i, g in enumerate(grads)
        if not np.isfinite(g).all()
    ] or ["every gradient is finite"]  # then found_inf is True
    evidence = f"found_inf is {bool(found_inf)} but {' and '.join(bad)}"
    flags = _flags(check)
    for mistake in UNSCALE_FLAG_MISTAKES:
        if flags and all(bool(mistake.fn(*c.args)) == flag for c, flag in flags):
            return f"{mistake.explanation} Here {evidence}", mistake.hint
    return evidence, _UNSCALE_HINT


def _unscale_values_problem(
    check: JudgedCheck, got: Sequence[np.ndarray], expected: Sequence[np.ndarray], case: Case
) -> Judgement:
    """None if the values agree; else a mistake, named by the two-case rule within rtol 1e-3
    (so that a slip computed in another order, or in float16, is still recognised), or a
    diagnosis."""
    if same_output(got, expected, 1e-6, 0.0):
        return None
    i = next(i for i in range(len(got)) if not matches(got[i], expected[i], 1e-6, 0.0))
    evidence = f"in grads[{i}], {first_mismatch(got[i], expected[i], 1e-6, 0.0)}"
    namer = copy.copy(check)  # the bound check, naming the value mistakes within rtol 1e-3
    namer.mistakes, namer.rtol, namer.atol = UNSCALE_VALUE_MISTAKES, 1e-3, 0.0
    mistake = namer.named_mistake(  # another case's output is evidence only if all arrays
        got, 0, case, view=lambda out: out if all(isinstance(g, np.ndarray) for g in out) else None
    )
    if mistake is not None:
        return f"{mistake.explanation} {evidence[0].upper()}{evidence[1:]}", mistake.hint
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        bad = ~np.isfinite(g) & np.isfinite(e)
        if bad.any():
            return (
                f"grads[{i}] contains NaN or inf ({int(bad.sum())} of {g.size} values) "
                "where the expected values are finite",
                "Look for an overflow: a float16 holds at most 65504.",
            )
    flat_got = np.concatenate([np.ravel(g).astype(np.float64) for g in got])
    flat_exp = np.concatenate([np.ravel(e).astype(np.float64) for e in expected])
    finite = np.isfinite(flat_exp)
    c = scale_factor(flat_got[finite], flat_exp[finite], 1e-6, 0.0)
    if c is not None:
        return (
            f"your values are {c:.4g} times the expected ones",
            "A constant factor is missing or extra: a division, a multiplication?",
        )
    return f"your values differ: {evidence}", _UNSCALE_HINT


def _judge_unscale(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    (grads, scale), (out, found_inf) = case.args, outputs
    expected, _ = mp.unscale_grads(grads, scale)
    problem = _list_problem(out, expected, "the list of gradients you return", "grads[{i}]")
    problem = problem or _unscale_values_problem(check, out, expected, case)
    if problem is not None:
        return problem
    for i, g in enumerate(out):
        if g.dtype != np.float32:
            return (
                f"grads[{i}] has dtype {g.dtype}, but float32 was expected (the unscaled "
                "gradients update the float32 master weights)",
                "Cast with g.astype(np.float32), then divide by the scale.",
            )
    return _found_inf_problem(check, found_inf, grads)


UNSCALE_GRADS = JudgedCheck(
    name="unscale_grads",
    reference=mp.unscale_grads,
    make_cases=_unscale_cases,
    output_names=("grads", "found_inf"),
    task="Return ([g.astype(np.float32) / scale for g in grads], found_inf), where found_inf "
    "is True when any element of any gradient is inf or NaN.",
    judge=_judge_unscale,
    inplace_hint="Build new arrays: g.astype(np.float32) / scale makes a copy, but g /= scale, "
    "np.asarray(g, np.float32) on a float32 gradient, or grads[i] = ... change the caller's "
    "gradients.",
)


check_unscale_grads = UNSCALE_GRADS.checker(
    "Check ``fn(grads, scale) -> (unscaled float32 grads, found_inf)``."
)

# ---------------------------------------------------------------------------
# 2. update_scale(scale, found_inf, good_steps, ...) -> (scale, good_steps)
# ---------------------------------------------------------------------------
#
# torch.amp.GradScaler: on an overflow, (scale * backoff, 0); otherwise one more good
# step, and after growth_interval of them (scale * growth, 0). The case that is one
# step short of the interval comes before the one that completes it, so that a
# learner who grows one step early is caught there, and one who grows late after.


def _update(
    scale,
    found_inf,
    good_steps,
    growth_factor=2.0,
    backoff_factor=0.5,
    growth_interval=2000,
    *,
    slip="",
):
    """The rule written out; ``slip`` names one classic slip to make (none by default)."""
    if slip == "defaults":
        growth_factor, backoff_factor, growth_interval = 2.0, 0.5, 2000
    if found_inf and slip != "ignore_inf":
        factor = growth_factor if slip == "grow_on_inf" else backoff_factor
        return scale * factor, good_steps if slip == "keep_after_backoff" else 0
    g = good_steps if slip == "no_count" else good_steps + 1
    due = {"late": good_steps == growth_interval, "early": g >= growth_interval - 1}
    if slip == "grow_every" or due.get(slip, g == growth_interval):
        return scale * growth_factor, g if slip in ("keep_after_growth", "grow_every") else 0
    return scale, g


def _update_cases(rng: np.random.Generator) -> list[Case]:
    S = 2.0**16
    other = {"growth_factor": 4.0, "backoff_factor": 0.25, "growth_interval": 3}
    return [
        Case((S, False, 5), label="a good step in the middle of the interval"),
        Case((S, True, 7), label="an overflow after 7 good steps"),
        Case((S, False, 1998), label="good step 1999 of 2000: not yet"),
        Case((S, False, 1999), label="good step 2000 of 2000: grow", stress=True),
        Case((8.0, False, 2), other, label="other factors: the third good step of 3, growth 4"),
        Case((8.0, True, 1), other, label="other factors: an overflow, backoff 0.25"),
    ]


_UPDATE_HINT = (
    "if found_inf: return scale * backoff_factor, 0. Else g = good_steps + 1; if g == "
    "growth_interval: return scale * growth_factor, 0; else return scale, g."
)

_UPDATE_SLIPS = {  # the slip of _update: what to tell the learner
    "early": (
        "the scale grew one step early, after growth_interval − 1 good steps: count "
        "this step first (g = good_steps + 1), then grow when g == growth_interval."
    ),
    "grow_every": (
        "you grew the scale on every good step: it must wait for growth_interval good "
        "steps in a row, or it would climb back into overflow at once."
    ),
    "grow_on_inf": (
        "you grew the scale after an overflow: an inf or NaN means the scale is too "
        "large, so it must shrink, scale · backoff_factor."
    ),
    "ignore_inf": (
        "your scale did not shrink after an overflow: you ignored found_inf, or forgot "
        "backoff_factor. After an overflow the step is skipped and the scale must "
        "shrink, scale · backoff_factor, with good_steps back to 0."
    ),
    "no_count": (
        "you did not count the good step: good_steps must grow by one on every step "
        "without an overflow."
    ),
    "keep_after_backoff": (
        "you did not reset good_steps after an overflow: the count is of good steps "
        "*in a row*, so it restarts at 0."
    ),
    "keep_after_growth": (
        "you did not reset good_steps after growing the scale: a new interval starts at 0."
    ),
    "defaults": (
        "you ignored the arguments growth_factor, backoff_factor or growth_interval "
        "and used the defaults (2, 0.5, 2000) instead."
    ),
    "late": (
        "the scale grew one step late, after growth_interval + 1 good steps: you "
        "compared good_steps with growth_interval before counting this step. Count it "
        "first (g = good_steps + 1), then compare g."
    ),
}
# the one output each slip spoils, the scale (0) or good_steps (1); "defaults" spoils both
_SPOILS = dict.fromkeys(["early", "grow_every", "grow_on_inf", "ignore_inf", "late"], 0)
_SPOILS |= dict.fromkeys(["no_count", "keep_after_backoff", "keep_after_growth"], 1)

UPDATE_SCALE = FunctionCheck(
    name="update_scale",
    reference=mp.update_scale,
    make_cases=_update_cases,
    output_names=("scale", "good_steps"),
    task="Return the next (scale, good_steps): (scale·backoff, 0) on an overflow; else count "
    "the good step, and after growth_interval of them return (scale·growth, 0).",
    rtol=1e-12,
    atol=0.0,
    mistakes=slip_mistakes(_update, _UPDATE_SLIPS, _UPDATE_HINT, outputs=2, only=_SPOILS),
)


check_update_scale = UPDATE_SCALE.checker(
    "Check ``fn(scale, found_inf, good_steps, ...) -> (scale, good_steps)``: GradScaler's rule."
)

# ---------------------------------------------------------------------------
# 3. ring_all_reduce(arrays) -> one array per rank, each the sum
# ---------------------------------------------------------------------------


def _ring_reference(arrays, send=None):
    """dlbook.parallel.numpy_backend.ring_all_reduce (the check judges ``send`` on its own)."""
    return par_np.ring_all_reduce(arrays)


class _Wire:
    """The ``send(src, dst, chunk)`` the check gives the learner: it delivers a copy of
    ``chunk`` and records (src, dst, number of values) for every message.

    A deep copy is the same wire, so that the judge sees what the learner sent.
    """

    def __init__(self, muted: bool = False) -> None:
        self.log: list[tuple[int, int, int]] = []
        self.muted = muted  # deliver zeros: a ring's sums must then change

    def __call__(self, src: int, dst: int, chunk: Any) -> np.ndarray:
        chunk = np.array(chunk, copy=True)
        self.log.append((int(src), int(dst), int(chunk.size)))
        return chunk * 0 if self.muted else chunk

    def __deepcopy__(self, memo: dict) -> _Wire:
        return self

    def __repr__(self) -> str:
        return "a recording send"


_SEND_HINT = (
    "Take a second argument send=None (send = send or (lambda src, dst, chunk: "
    "chunk.copy())) and move every chunk from rank r to rank (r + 1) % p with "
    "received = send(r, (r + 1) % p, chunk)."
)


def _messages_problem(check: JudgedCheck, case: Case) -> Judgement:
    """Only to the right neighbour, 2 p (p - 1) messages, chunks of about n / p?"""
    (arrays,), wire = case.args, case.kwargs["send"]
    p, n = len(arrays), arrays[0].size
    if not takes(check.run_state.fn, "send"):
        return (
            "your sums are right, but your function takes no `send` argument, so the check "
            "cannot see a ring: a plain sum gives the same numbers",
            _SEND_HINT,
        )
    if not wire.log:
        return (
            "your sums are right, but no chunk went through `send`: the ranks of a ring "
            "all-reduce exchange chunks, they never read each other's arrays",
            _SEND_HINT,
        )
    for src, dst, size in wire.log:
        if dst != (src + 1) % p:
            return (
                f"rank {src} sent a chunk to rank {dst}: on a ring each rank sends only to "
                f"its right neighbour, (r + 1) % p = {(src + 1) % p}",
                _RING_HINT,
            )
        if size > -(-n // p):
            return (
                f"rank {src} sent {size} values in one message: a ring moves chunks of about "
                f"n / p = {n / p:g} values, never whole arrays",
                _RING_HINT,
            )
    if len(wire.log) != 2 * p * (p - 1):
        return (
            f"your {p} ranks sent {len(wire.log)} messages; a ring all-reduce sends "
            f"2·p·(p − 1) = {2 * p * (p - 1)}: p − 1 steps of reduce-scatter and p − 1 of "
            "all-gather, one chunk per rank in each",
            _RING_HINT,
        )
    return None


def _ring_cases(rng: np.random.Generator) -> list[Case]:
    def case(p, shape, dtype, label, stress=False) -> Case:
        integer = np.issubdtype(dtype, np.integer)
        draw = functools.partial(rng.integers, -50, 50) if integer else rng.normal
        ranks = ArrayList(draw(size=shape).astype(dtype) for _ in range(p))
        return Case((ranks,), {"send": _Wire()}, label=label, stress=stress)

    return [
        case(4, (8,), np.float64, "4 ranks, 8 values each: chunks of 2"),
        case(3, (2, 5), np.float32, "3 ranks of float32 (2, 5) arrays"),
        case(5, (3, 4), np.int64, "5 ranks of int64 (3, 4) arrays"),
        case(2, (7,), np.float64, "2 ranks, 7 values each: chunks of 4 and 3", stress=True),
    ]


_RING_HINT = (
    "chunks[r] = np.array_split(arrays[r].flatten(), p). Reduce-scatter, s = 0..p-2: rank r "
    "sends chunk (r - s) % p to rank (r + 1) % p, which adds it. All-gather, s = 0..p-2: "
    "rank r sends chunk (r + 1 - s) % p to rank (r + 1) % p, which overwrites its copy."
)


def _contributions(chunk: np.ndarray, parts: Sequence[np.ndarray], tol: float) -> int | None:
    """How many ranks' chunks ``chunk`` is the sum of (p for the full sum), or None."""
    for k in range(len(parts), 0, -1):
        for ranks in combinations(range(len(parts)), k):
            if matches(chunk, sum(parts[q] for q in ranks), tol, tol):
                return k
    return None


def _ring_values_problem(arrays, got, tol) -> Judgement:
    """Diagnose wrong sums chunk by chunk, whatever order the learner's ring sends them in.

    Each chunk of each rank's result is matched against the sums of every subset of
    the ranks' chunks (at most 2^5 of them here): a ring stopped early leaves partial
    sums, and how many of them each rank holds tells which phase was cut short.
    """
    bad = [i for i, g in enumerate(got) if not np.isfinite(g).all()]
    if bad:
        return f"rank {bad[0]}'s array contains NaN or inf", "Are all the chunks initialised?"
    p = len(arrays)
    full = np.sum([np.ravel(a).astype(np.float64) for a in arrays], axis=0)  # (n,)
    flat = [np.ravel(g).astype(np.float64) for g in got]  # p x (n,)
    if all(matches(f, full, tol, tol) for f in flat):
        return None
    if all(matches(f, full / p, tol, tol) for f in flat):
        return (
            "you averaged instead of summing (data parallelism divides by p afterwards, "
            "outside the collective): every rank must end with the sum",
            _RING_HINT,
        )
    if all(matches(f, np.ravel(a), tol, tol) for f, a in zip(flat, arrays, strict=True)):
        return "every rank got its own array back: nothing was summed", _RING_HINT
    mine = [np.array_split(f, p) for f in flat]  # p ranks x p chunks
    inputs = [np.array_split(np.ravel(a).astype(np.float64), p) for a in arrays]  # p x p chunks
    parts = list(zip(*inputs, strict=True))  # parts[c][q]: rank q's input chunk c
    counts = [[_contributions(mine[r][c], parts[c], tol) for c in range(p)] for r in range(p)]
    if all(k is not None for row in counts for k in row):
        per_rank = np.array([row.count(p) for row in counts])  # fully summed chunks per rank
        stops = (  # every rank holds 0, 1 or p − 1 of them (for p = 2, 1 is tried first)
            "your reduce-scatter leaves no chunk with the full sum on any rank: in each of "
            "its p − 1 steps rank r passes on chunk (r − s) % p, the one it just added to",
            "you stopped after the reduce-scatter (the all-gather, p − 1 more steps, "
            "copies every finished chunk around the ring): each rank holds one fully "
            "summed chunk and partial sums elsewhere",
            "your all-gather is one step short (it takes p − 1 steps, as the "
            "reduce-scatter does): each rank still has one chunk that is not the full sum",
        )
        for k, explanation in zip((0, 1, p - 1), stops, strict=True):
            if (per_rank == k).all():
                return explanation, _RING_HINT
    # the hint's all-gather sends what its reduce-scatter sends, one chunk on: with += in both
    rotated = [ch[1:] + ch[:1] for ch in par_np.ring_reduce_scatter(inputs)]  # c at c - 1
    added = [ch[-1:] + ch[:-1] for ch in par_np.ring_reduce_scatter(rotated)]
    if all(matches(f, np.concatenate(a), tol, tol) for f, a in zip(flat, added, strict=True)):
        return (
            "your all-gather adds the chunks it receives (+=), as the reduce-scatter does: they "
            "already hold the full sum, so each rank must overwrite (=) its copy with them",
            _RING_HINT,
        )
    r = next(r for r in range(p) if not matches(flat[r], full, tol, tol))
    return (
        f"rank {r}'s array is not the sum of the inputs: {first_mismatch(flat[r], full, tol, tol)}",
        _RING_HINT,
    )


def _judge_ring(check: JudgedCheck, outputs: tuple[Any, ...], case: Case) -> Judgement:
    (arrays,), (got,) = case.args, outputs
    expected = _ring_reference(arrays)
    p, dtype = len(arrays), arrays[0].dtype
    # sums taken in another order agree to a few ulps: relative 1e-5 in float32
    tol = 0.0 if np.issubdtype(dtype, np.integer) else 1e-5 if dtype.itemsize <= 4 else 1e-10
    problem = _list_problem(got, expected, "your list of results", "rank {i}'s array")
    if problem is not None and isinstance(got, np.ndarray):
        return problem[0], "Return one array per rank: every rank ends with its own copy."
    problem = problem or _ring_values_problem(arrays, got, tol)
    if problem is not None:
        return problem
    for r in range(p):
        for q in range(r):
            if np.may_share_memory(got[r], got[q]):
                return (
                    f"ranks {q} and {r} share one array (on real hardware every rank holds "
                    "its own copy, and an optimizer that updated one rank's weights in place "
                    "would change the other's too)",
                    "Return p separate arrays, e.g. [total.copy() for _ in range(p)], or "
                    "each rank's own concatenated chunks.",
                )
    for r, (g, a) in enumerate(zip(got, arrays, strict=True)):
        if g.dtype != a.dtype:
            return (
                f"rank {r}'s array has dtype {g.dtype}, but the inputs are {a.dtype} (an "
                "all-reduce keeps the dtype of what it is given)",
                "Copy the inputs' chunks (a.flatten() keeps the dtype) rather than filling "
                "np.zeros(n), which is float64; or end with .astype(a.dtype).",
            )
    cases = check.run_state.cases
    if case is not cases[-1]:  # the messages are judged at the last case, once every sum is right
        return None
    problems = (_messages_problem(check, c) for c in cases)
    return next(filter(None, problems), None) or _deaf_problem(check, cases[0])


def _deaf_problem(check: JudgedCheck, case: Case) -> Judgement:
    """Sums that stay right when ``send`` delivers zeros were not made from what it delivers."""
    (arrays,) = case.args
    got = check.call_again(arrays, send=_Wire(muted=True)).value
    full = _ring_reference(arrays)
    if not isinstance(got, (list, tuple)) or len(got) != len(full):
        return None  # no evidence either way
    if all(matches(np.asarray(g), f, 1e-5, 1e-5) for g, f in zip(got, full, strict=True)):
        return (
            "your sums stay right even when `send` delivers zeros: you add the other ranks' "
            "chunks directly instead of the chunks that `send` returns",
            "Add (or copy) what arrives: received = send(r, (r + 1) % p, chunk), then use "
            "`received`, the only way a rank sees another rank's data.",
        )
    return None


RING_ALL_REDUCE = JudgedCheck(
    name="ring_all_reduce",
    reference=_ring_reference,
    make_cases=_ring_cases,
    task="Return one new array per rank, each the sum of all the arrays, computed by a "
    "reduce-scatter then an all-gather of p − 1 ring steps each, in the inputs' shape and "
    "dtype. Move every chunk with received = send(r, (r + 1) % p, chunk).",
    judge=_judge_ring,
    optional_kwargs=("send",),
    inplace_hint="a.ravel(), a.reshape(...) and np.array_split return views of the input: "
    "adding into them changes it. Start from copies, e.g. np.array_split(a.flatten(), p).",
)


check_ring_all_reduce = RING_ALL_REDUCE.checker(
    "Check ``fn(arrays, send=None) -> list``: every rank gets the sum, by a ring.\n"
    "\n"
    "The check passes its own ``send(src, dst, chunk) -> received chunk`` and watches\n"
    "the messages: only to the right neighbour, 2 p (p - 1) of them, each a chunk."
)

# ---------------------------------------------------------------------------
# 4. accumulated_gradient(grad_fn, micro_batches) -> the mean of the micro-batch gradients
# ---------------------------------------------------------------------------
#
# For a loss that is a mean over examples and micro-batches of equal size, the mean
# of the micro-batch gradients *is* the gradient of the whole batch: that is the
# reference, so no formula is duplicated here.


@dataclass(frozen=True)
class _LinearMSEGrad:
    """grad_fn((x, y)): gradient of mean((x @ w - y)²) with respect to w, shape (D,)."""

    w: np.ndarray  # (D,) the weights at which the gradient is taken
    max_batch: int  # the most examples that "fit in memory": one micro-batch

    def __call__(self, batch: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        if len(batch[0]) > self.max_batch:  # accumulation exists because this would not fit
            raise ValueError(
                f"grad_fn takes one micro-batch at a time, at most {self.max_batch} examples "
                f"(no more fit in memory), but it was given {len(batch[0])}: call it on each "
                "micro-batch and average the gradients"
            )
        return self.gradient(*batch)

    def gradient(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """2 x^T (x w - y) / B for x (B, D) and y (B,): shape (D,)."""
        return 2.0 * x.T @ (x @ self.w - y) / len(x)

    def __repr__(self) -> str:
        return "MSE gradient of a linear model"


def _accumulate_reference(grad_fn, micro_batches):
    """The gradient of the whole batch: the concatenated micro-batches in one call."""
    x = np.concatenate([mb[0] for mb in micro_batches])  # (k B, D)
    y = np.concatenate([mb[1] for mb in micro_batches])  # (k B,)
    return grad_fn.gradient(x, y)


def _accumulate_cases(rng: np.random.Generator) -> list[Case]:
    def case(k, B, D, label, size=1.0):
        w = rng.normal(size=D)
        batches = ArrayList(
            ((size * rng.normal(size=(B, D)), rng.normal(size=B)) for _ in range(k)),
            item="micro-batches (x, y)",
        )
        return Case((_LinearMSEGrad(w, B), batches), label=label, stress=size > 1)  # large inputs

    return [
        case(4, 8, 3, "4 micro-batches of 8 examples"),
        case(3, 5, 6, "3 micro-batches of 5 examples, 6 weights"),
        case(2, 16, 2, "2 micro-batches of 16 examples, inputs about 1e3", size=1e3),
    ]


_ACCUMULATE_HINT = (
    "total = sum of grad_fn(mb) over the micro-batches; return total / len(micro_batches)."
)
_accumulate_mistake = functools.partial(Mistake, hint=_ACCUMULATE_HINT)

ACCUMULATED_GRADIENT = FunctionCheck(
    name="accumulated_gradient",
    reference=_accumulate_reference,
    make_cases=_accumulate_cases,
    task="Return the mean of grad_fn(mb) over the micro-batches mb: the gradient of the "
    "whole batch.",
    rtol=1e-9,
    atol=1e-12,
    mistakes=[
        _accumulate_mistake(
            "you summed the micro-batch gradients without dividing: each grad_fn already "
            "averages over its micro-batch, so the sum is k times the gradient of the whole "
            "batch (k = number of micro-batches), as if the learning rate were k times larger.",
            lambda grad_fn, mbs: sum(grad_fn(mb) for mb in mbs),
        ),
        _accumulate_mistake(
            "you divided by the number of examples: each grad_fn already averages over its "
            "micro-batch, so divide the sum by the number of micro-batches.",
            lambda grad_fn, mbs: sum(grad_fn(mb) for mb in mbs) / sum(len(mb[1]) for mb in mbs),
        ),
        _accumulate_mistake(
            "you returned the last micro-batch's gradient: did you assign (g = grad_fn(mb)) "
            "in the loop instead of adding (total = total + grad_fn(mb))?",
            lambda grad_fn, mbs: grad_fn(mbs[-1]),
        ),
    ],
    inplace_hint="Add into a new array (total = total + g), not into an input.",
)


check_accumulated_gradient = ACCUMULATED_GRADIENT.checker(
    "Check ``fn(grad_fn, micro_batches) -> gradient``: the mean over micro-batches."
)

__all__ = [
    "check_accumulated_gradient",
    "check_ring_all_reduce",
    "check_unscale_grads",
    "check_update_scale",
]
