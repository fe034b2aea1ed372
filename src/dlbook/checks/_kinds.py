"""The kinds of check the chapters build on, in one place.

:mod:`dlbook.checks._core` runs a learner's function and compares arrays; this module
adds what several chapters need, so that a chapter's checker declares only its
references, cases and mistakes and never imports another chapter's checker:

* :class:`JudgedCheck` judges outputs that cannot equal a reference (random draws,
  whole curves) with a ``judge`` function; :class:`TypedCheck` also wants a dtype
  kind; :class:`DictCheck` takes a dict of outputs;
* :class:`ArrayList` is the one way a list of arrays is shown in messages;
  :class:`SeededRng` shows a generator as ``np.random.default_rng(seed)``;
* :func:`slip_mistakes` is the mistake factory: a written-out reference with a
  switch per classic slip, and a table of what to say about each (with
  :func:`each_output` for functions that return tuples);
* :func:`array_problem`, :func:`again_problem`, :func:`rng_problem` and
  :func:`as_number` are the judgements that recur.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlbook.checks._core import (
    REAL_HINT,
    Call,
    Case,
    CheckResult,
    FunctionCheck,
    Mistake,
    array_equal,
    describe_error,
    describe_type,
    each_output,
    error_hint,
    fail,
    on_output,
    shape_hint,
    type_hint,
)

# (message, hint) when an output is wrong; None when it is right
Judgement = tuple[str, str] | None


class SeededRng(np.random.Generator):
    """A ``np.random.default_rng(seed)`` that shows as such in a check's messages.

    The learner receives a deep copy, which is a plain ``Generator`` in the same state.
    """

    def __init__(self, seed: int) -> None:
        super().__init__(np.random.PCG64(seed))
        self.seed = seed

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"


class ArrayList(list):
    """A list of arrays (or of tuples of arrays) shown by a summary, not by its numbers.

    ``item`` names a tuple element in the summary, e.g. "micro-batches (x, y)".
    """

    def __init__(self, items: Any = (), item: str = "") -> None:
        super().__init__(items)
        self.item = item

    def __repr__(self) -> str:
        if not self:
            return "[]"
        if all(isinstance(a, np.ndarray) for a in self):
            shapes = [a.shape for a in self]
            dtypes = ", ".join(sorted({str(a.dtype) for a in self}))
            if len(set(shapes)) == 1:
                return f"[{len(self)} {dtypes} arrays of shape {shapes[0]}]"
            return f"[{len(self)} {dtypes} arrays: " + ", ".join(map(str, shapes)) + "]"
        first = self[0][0] if isinstance(self[0], tuple) else self[0]
        return f"[{len(self)} {self.item or 'items'} of {len(first)} examples]"


@dataclass
class JudgedCheck(FunctionCheck):
    """A :class:`FunctionCheck` whose outputs are judged by ``judge`` instead of compared.

    For outputs that cannot equal the reference's: random draws, judged by their
    statistics, and functions judged as a whole curve. Everything else (stubs,
    exceptions, time budget, inputs changed in place, the structure of a tuple)
    is the base class's. ``judge(check, outputs, case)`` returns ``(message,
    hint)`` or None; it may call the learner's function again through
    :meth:`~FunctionCheck.call_again`, within what is left of the time budget.
    """

    judge: Callable[[JudgedCheck, tuple[Any, ...], Case], Judgement] | None = None

    def _case_failure(self, value: Any, case: Case, where: str) -> CheckResult | None:
        outputs = self._split_outputs(value, where)
        if isinstance(outputs, CheckResult):
            return outputs
        assert self.judge is not None, "a JudgedCheck needs a judge"
        problem = self.judge(self, outputs, case)
        return None if problem is None else fail(self.name, f"{problem[0]} {where}.", problem[1])


@dataclass
class TypedCheck(FunctionCheck):
    """A :class:`FunctionCheck` whose output must also have the right kind of dtype.

    Values are judged first, so a wrong pattern is named before a wrong dtype.
    ``kinds`` are NumPy dtype kinds (``"b"`` boolean, ``"iu"`` integers);
    ``wrong_kind(got)`` returns (message, hint) for a right value of another kind.
    """

    kinds: str = ""
    wrong_kind: Callable[[Any], tuple[str, str]] | None = None

    def _output_failure(
        self, got: Any, expected: np.ndarray, k: int, case: Case, where: str
    ) -> CheckResult | None:
        problem = super()._output_failure(got, expected, k, case, where)
        if problem is not None or self.wrong_kind is None:
            return problem
        if isinstance(got, (bool, np.bool_)) or np.asarray(got).dtype.kind not in self.kinds:
            message, hint = self.wrong_kind(got)
            return fail(self.name, f"{message} {where}.", hint)
        return None


@dataclass
class DictCheck(FunctionCheck):
    """A :class:`FunctionCheck` of a function that returns a dict keyed by ``output_names``.

    The dict's values are compared one by one, in the order of ``output_names``;
    the reference and the mistakes return them as a tuple in that order.
    """

    def _split_outputs(self, value: Any, where: str) -> tuple[Any, ...] | CheckResult:
        """The dict's values in the order of ``output_names``, or a message about its keys."""
        keys = ", ".join(f'"{k}"' for k in self.output_names)
        if not isinstance(value, Mapping):
            return fail(
                self.name,
                f"your function returns {describe_type(value)}, but a dict with the keys "
                f"{keys} was expected {where}.",
                "End with `return {" + ", ".join(f'"{k}": {k}' for k in self.output_names) + "}`.",
            )
        missing = [k for k in self.output_names if k not in value]
        if missing:
            names = ", ".join(f'"{k}"' for k in missing)
            has = ", ".join(f'"{k}"' for k in value) or "no keys at all"
            return fail(
                self.name,
                f"your dict has no key {names} (it has {has}) {where}.",
                f"Return a dict with the keys {keys}, spelled exactly so.",
            )
        return tuple(value[k] for k in self.output_names)


def slip_mistakes(
    fn: Callable[..., Any],
    explanations: Mapping[Any, str],
    hint: str = "",
    *,
    hints: Mapping[Any, str] | None = None,
    outputs: int = 0,
    only: Mapping[Any, int | tuple[int, ...]] | None = None,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> list[Mistake]:
    """The named mistakes of ``fn``, a written-out reference with a switch per classic slip.

    ``fn`` computes the right answer by default and makes slip ``s`` when called with
    ``slip=s``; a key ``(name, value)`` sets the keyword ``name`` instead (a tuple of
    such pairs sets several). Each ``key -> explanation`` gives one :class:`Mistake`,
    in the table's order, with ``hints[key]`` or else ``hint``. With ``outputs=n`` (a
    function that returns a tuple of n) it gives one per output, as
    :func:`each_output`, except that a key in ``only`` is named on that output (or
    those outputs) alone. ``wrap`` turns each wrong function into what the mistake
    calls (e.g. a probe that records what it did).
    """
    mistakes = []
    for key, explanation in explanations.items():
        if isinstance(key, str):
            switch = {"slip": key}
        else:  # (name, value), or several such pairs
            switch = dict(key) if isinstance(key[0], tuple) else dict([key])
        wrong = functools.partial(fn, **switch)
        wrong = wrap(wrong) if wrap is not None else wrong
        tip = (hints or {}).get(key, hint)
        if key in (only or {}):
            ks = only[key] if isinstance(only[key], tuple) else (only[key],)
            mistakes += [on_output(explanation, wrong, k, tip) for k in ks]
        elif outputs:
            mistakes += each_output(explanation, wrong, outputs, tip)
        else:
            mistakes.append(Mistake(explanation, wrong, hint=tip))
    return mistakes


def stressed(cases: list[Case], *indices: int) -> list[Case]:
    """``cases`` with the cases at ``indices`` marked as stress (or edge) cases."""
    for i in indices:
        cases[i].stress = True
    return cases


def again_problem(call: Call) -> Judgement:
    """What to say when a second call of the learner's function went wrong."""
    if call.timed_out:
        return (
            "too slow: calling your function a second time ran out of the time budget",
            "Replace Python loops over elements with whole-array NumPy operations (vectorise).",
        )
    if call.error is not None:
        err = call.error
        return (
            f"called a second time, your function raised {describe_error(err)}",
            error_hint(err),
        )
    return None


def array_problem(value: Any, shape: tuple[int, ...], label: str) -> Judgement:
    """Refuse anything but a finite numeric array of ``shape``."""
    if not isinstance(value, np.ndarray):
        return (
            f"{label} is {describe_type(value)}, but a NumPy array of shape {shape} was expected",
            type_hint(value),
        )
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        return f"{label} has dtype {value.dtype}, not numbers", "Compute with NumPy float arrays."
    if value.dtype.kind == "c":
        return f"{label} has complex values (dtype {value.dtype})", REAL_HINT
    if value.shape != shape:
        return (
            f"{label} has shape {value.shape} but should have shape {shape}",
            shape_hint(value.shape, shape),
        )
    bad = ~np.isfinite(value)
    if bad.any():
        return (
            f"{label} contains NaN or inf ({int(bad.sum())} of {value.size} values)",
            "Look for a division by zero, e.g. by 1 - p with p = 1.",
        )
    return None


def as_number(value: Any) -> float | None:
    """A real number as a float, or None for anything else (an array of many values...)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and np.isrealobj(value):
        return float(value)
    return None


def _first_array(value: Any) -> np.ndarray | None:
    """The first output of a call (the whole value if it is not a tuple), as an array."""
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    return value if isinstance(value, np.ndarray) else None


def rng_problem(check: FunctionCheck, case: Case, first: np.ndarray, rng_index: int) -> Judgement:
    """Refuse a random draw that does not come from the ``rng`` argument.

    The same generator state must give the same draw (no ``np.random.*`` global
    state), and another state another draw (no generator of its own, seeded inside).
    """
    again = check.call_again(*case.args, **case.kwargs)
    problem = again_problem(again)
    if problem is not None:
        return problem
    same = _first_array(again.value)
    if same is None or not array_equal(same, first):
        return (
            "two calls with generators in the same state gave different results: your "
            "function does not draw from `rng`",
            "Draw with the generator you are given (rng.random, rng.normal, ...): np.random.* "
            "uses the global random state, which nobody controls.",
        )
    args = list(case.args)
    args[rng_index] = np.random.default_rng(12345)
    other = check.call_again(*args, **case.kwargs)
    problem = again_problem(other)
    if problem is not None:
        return problem
    different = _first_array(other.value)
    if different is not None and array_equal(different, first):
        return (
            "generators in different states gave exactly the same result: your function "
            "ignores `rng` (does it create its own, e.g. np.random.default_rng(0)?)",
            "Draw from the `rng` argument, so that the caller decides the randomness.",
        )
    return None


__all__ = [
    "ArrayList",
    "DictCheck",
    "JudgedCheck",
    "Judgement",
    "SeededRng",
    "TypedCheck",
    "again_problem",
    "array_problem",
    "as_number",
    "each_output",
    "rng_problem",
    "slip_mistakes",
    "stressed",
]
