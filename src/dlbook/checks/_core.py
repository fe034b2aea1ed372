"""The machinery behind every exercise check: run the learner's code safely, explain what is wrong.

A chapter declares *what* to check and this module does the rest::

    SOFTMAX = FunctionCheck(
        name="softmax",
        reference=nn_np.softmax,                      # the right answer
        make_cases=lambda rng: [Case((rng.normal(size=(3, 5)),), label="a (3, 5) batch")],
        mistakes=[Mistake("normalises over axis 0 instead of the last axis.", wrong_axis_fn)],
    )
    SOFTMAX.run(student_softmax)   # -> CheckResult, shown as "✅ softmax: ..." or "❌ softmax: ..."

For every test case a check

1. calls the learner's function on fresh copies of the inputs, under a time budget,
   with NumPy warnings silenced (a NaN is reported in words instead);
2. turns ``NotImplementedError``, any other exception and running out of time into a
   message (it never raises for a learner's mistake, so the notebook keeps running);
3. refuses outputs of the wrong type or structure, and inputs changed in place;
4. compares each output with the reference within a tolerance, and when they differ,
   looks for a known mistake: the learner's output equals what a declared
   :class:`Mistake` computes. Otherwise it explains the shape, the NaN, a constant
   factor, or the first value that differs.

Test inputs come from ``np.random.default_rng(seed)``; the global random state is never touched.
"""

from __future__ import annotations

import copy
import inspect
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------
# What a check returns
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The verdict of a check, displayed as deterministic plain text (nbval compares it)."""

    passed: bool  # True when every test case agreed with the reference
    title: str  # what was checked, usually the exercise's function name
    message: str  # what happened, in a learner's words
    hint: str = ""  # what to try next; empty when there is nothing to add

    def __str__(self) -> str:
        text = f"{'✅' if self.passed else '❌'} {self.title}: {self.message}"
        return f"{text}\n   Hint: {self.hint}" if self.hint else text

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's text/plain display: the same text as ``str``, no HTML."""
        p.text(str(self))


def fail(title: str, message: str, hint: str = "") -> CheckResult:
    """A failed :class:`CheckResult`."""
    return CheckResult(False, title, message, hint)


# ---------------------------------------------------------------------------
# Running the learner's code under a time budget
# ---------------------------------------------------------------------------


class CheckTimeout(BaseException):
    """Raised inside the learner's code when its time budget runs out.

    A ``BaseException``, so that a learner's ``except Exception:`` cannot swallow it.
    """


def _alarm_available() -> bool:
    """SIGALRM can interrupt running code only on Unix, and only from the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _raise_timeout(signum: int, frame: Any) -> None:
    raise CheckTimeout


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CheckTimeout` if the block runs longer than ``seconds``.

    On the main thread of a Unix process a SIGALRM interrupts a runaway loop; the
    previous handler, and any timer already running, are restored afterwards.
    Elsewhere the block runs to the end and is then measured.
    """
    if seconds <= 0:
        raise CheckTimeout
    start = time.perf_counter()
    if not _alarm_available():
        yield
        if time.perf_counter() - start > seconds:
            raise CheckTimeout
        return
    old_handler = signal.signal(signal.SIGALRM, _raise_timeout)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, old_handler)
            if old_delay > 0:  # an outer timer was running: give it back what is left
                left = max(old_delay - (time.perf_counter() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, old_interval)


@dataclass
class Call:
    """What happened when the learner's function was called."""

    value: Any = None  # what it returned
    error: Exception | None = None  # what it raised
    timed_out: bool = False  # whether it ran out of time


def call_student(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], seconds: float
) -> Call:
    """Call ``fn(*args, **kwargs)`` within ``seconds``, catching every exception it raises.

    NumPy's floating-point warnings are silenced: a check reports NaN and inf in words.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            with time_limit(seconds):
                value = fn(*args, **kwargs)
            return Call(value=value)
        except CheckTimeout:
            return Call(timed_out=True)
        except Exception as err:  # the learner's bug, reported in words
            return Call(error=err)


# ---------------------------------------------------------------------------
# Describing values, shapes and errors in a learner's words
# ---------------------------------------------------------------------------


def describe_type(value: Any) -> str:
    """'None', 'a Python list', 'a torch.Tensor of shape (2, 3)', 'a NumPy float64 scalar', ..."""
    module = type(value).__module__.split(".")[0]
    shape = getattr(value, "shape", None)
    if value is None:
        return "None"
    if module in ("torch", "tensorflow"):
        prefix = "torch" if module == "torch" else "tf"
        return f"a {prefix}.Tensor of shape {tuple(shape) if shape is not None else '?'}"
    if isinstance(value, np.generic):
        return f"a NumPy {value.dtype} scalar"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a Python {type(value).__name__} of length {len(value)}"
    if isinstance(value, (bool, int, float, complex)):
        return f"a Python {type(value).__name__}"
    return f"an object of type {type(value).__name__}"


def type_hint(value: Any) -> str:
    """What to do about a value of the wrong type."""
    module = type(value).__module__.split(".")[0]
    if value is None:
        return "Did you forget the `return` statement?"
    if module in ("torch", "tensorflow"):
        return "This exercise is about NumPy: compute with np.* functions on NumPy arrays."
    if isinstance(value, (list, tuple)):
        return "Work with whole NumPy arrays (no Python lists), or convert with np.asarray(...)."
    if isinstance(value, (np.generic, int, float, complex)):
        return (
            "You reduced the array to a single number (with sum, max, math.exp, float(...)?); "
            "keep one value per element."
        )
    return "Return a NumPy array."


def shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """Guess why an array came out with shape ``got`` instead of ``expected``."""
    size_got, size_exp = int(np.prod(got)), int(np.prod(expected))
    if len(got) == len(expected) and got == expected[::-1]:
        return "It looks transposed: check the order of the factors in your matrix product (.T)."
    if size_got == size_exp:
        return "Same number of values, different axes: check keepdims=True and reshapes."
    if size_got < size_exp:
        return (
            "Did you sum or average over the wrong axis, or forget keepdims=True? "
            "Write the shape of every intermediate array as a comment next to it."
        )
    if len(got) > len(expected):
        return "Did you forget to sum over an axis (for example the batch axis)?"
    return (
        "NumPy may have broadcast two arrays of different shapes into a bigger one; "
        "check the shapes of the arrays you combine."
    )


def error_hint(err: Exception) -> str:
    """A first idea of what to look at, from the type and text of an exception."""
    text = str(err)
    if isinstance(err, ValueError) and ("matmul" in text or "aligned" in text):
        return (
            "The inner sizes of a matrix product must agree, (B, H) @ (H, D) -> (B, D): "
            "write each array's shape next to it and transpose (.T) where needed."
        )
    if "broadcast" in text:
        return "Two arrays have incompatible shapes: did you forget keepdims=True on a sum or max?"
    if isinstance(err, NameError):
        return "A name is not defined: run the cells above first, and check the spelling."
    if isinstance(err, IndexError):
        return "An index is out of range: axes and positions count from 0."
    return "Read the error message, then print the shapes of your intermediate arrays."


def _describe_arg(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_inputs(names: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """'x: shape (2, 3), axis=-1' for the arguments of one test case."""
    parts = [f"{name}: {_describe_arg(a)}" for name, a in zip(names, args, strict=False)]
    parts += [f"{k}={_describe_arg(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if np.isscalar(v) and np.isreal(v) else repr(v)


def first_mismatch(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """'at index [0, 2] you return 0.1 where 0.3 is expected (2 of 12 values differ)'."""
    with np.errstate(all="ignore"):
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return "all values agree"
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    if not where:  # a single number
        return f"you return {_fmt(got[()])} where {_fmt(expected[()])} is expected"
    index = "[" + ", ".join(map(str, where)) + "]"
    return (
        f"at index {index} you return {_fmt(got[where])} where {_fmt(expected[where])} "
        f"is expected ({int(bad.sum())} of {bad.size} values differ)"
    )


def scale_factor(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> float | None:
    """The constant c != 1 with ``got == c * expected``, if there is one.

    A single number is always some multiple of another, so it needs at least two values.
    """
    if expected.size < 2:
        return None
    with np.errstate(all="ignore"):
        norm = float(np.sum(expected * expected))
        if norm == 0 or not np.all(np.isfinite(got)):
            return None
        c = float(np.sum(got * expected) / norm)
        if np.isclose(c, 1.0) or not np.allclose(got, c * expected, rtol=rtol, atol=atol):
            return None
    return c


# ---------------------------------------------------------------------------
# Declaring a check: test cases and known mistakes
# ---------------------------------------------------------------------------


@dataclass
class Case:
    """One call of the function under test."""

    args: tuple[Any, ...]  # positional arguments
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments
    label: str = ""  # a few words shown to the learner, e.g. "large logits (about 1000)"


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, and what to tell a learner whose output equals its output."""

    explanation: str  # e.g. "your gradient has the wrong sign."
    fn: Callable[..., Any]  # called like the function under test; returns the wrong output
    output: int = 0  # which output it concerns, for functions that return a tuple
    hint: str = ""  # what to do about it


def matches(got: np.ndarray, wrong: Any, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals ``wrong`` in shape and value (NaN equal to NaN)."""
    wrong = np.asarray(wrong)
    if wrong.shape != got.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(got, wrong, rtol=rtol, atol=atol, equal_nan=True))


def find_mistake(
    got: np.ndarray, index: int, case: Case, mistakes: Sequence[Mistake], rtol: float, atol: float
) -> Mistake | None:
    """The first mistake about output ``index`` that reproduces ``got`` on this case."""
    for mistake in mistakes:
        if mistake.output != index:
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                wrong = mistake.fn(*copy.deepcopy(case.args), **case.kwargs)
            except Exception:  # this mistake cannot even run on this case
                continue
        if matches(got, wrong, rtol, atol):
            return mistake
    return None


@dataclass
class FunctionCheck:
    """Everything a chapter declares to check one exercise function against its reference."""

    name: str  # the exercise's function name, shown in every message
    reference: Callable[..., Any]  # the correct implementation
    make_cases: Callable[[np.random.Generator], list[Case]]  # test inputs from a seeded rng
    mistakes: Sequence[Mistake] = ()  # known wrong answers, tried in order
    task: str = ""  # what to implement, shown while the stub raises NotImplementedError
    output_names: tuple[str, ...] = ()  # names of the outputs when it returns a tuple
    nan_hint: str = ""  # what to say when the output holds NaN or inf
    error_hint: str = ""  # extra advice when the function raises an exception
    seed: int = 0  # seed of the test inputs
    rtol: float = 1e-5  # relative tolerance against the reference
    atol: float = 1e-7  # absolute tolerance against the reference

    def run(self, fn: Any, *, time_budget: float = 10.0) -> CheckResult:
        """Check ``fn`` on every case within ``time_budget`` seconds in all; never raises."""
        if not callable(fn):
            return fail(
                self.name,
                f"expected a function, got {describe_type(fn)}.",
                f"Pass the function itself, `{self.name}`, not the result of calling "
                f"it, `{self.name}(...)`.",
            )
        cases = self.make_cases(np.random.default_rng(self.seed))
        deadline = time.perf_counter() + time_budget
        for i, case in enumerate(cases):
            where = (
                f"on test case {i + 1} of {len(cases)}, {case.label} "
                f"({describe_inputs(self.arg_names, case.args, case.kwargs)})"
            )
            given = copy.deepcopy(case.args)  # the learner's copy; case.args stays pristine
            call = call_student(
                fn, given, copy.deepcopy(case.kwargs), deadline - time.perf_counter()
            )
            failure = (
                self._call_failure(call, time_budget, where)
                or self._changed_inputs(given, case, where)
                or self._case_failure(call.value, case, where)
            )
            if failure is not None:
                return failure
        return CheckResult(True, self.name, f"correct on {len(cases)} test cases.")

    @property
    def arg_names(self) -> list[str]:
        """Names of the reference's parameters, used to describe the inputs."""
        try:
            return list(inspect.signature(self.reference).parameters)
        except (TypeError, ValueError):  # some built-ins have no signature
            return [f"argument {i + 1}" for i in range(8)]

    def _call_failure(self, call: Call, budget: float, where: str) -> CheckResult | None:
        """Not implemented, too slow, or raised: the messages for a call that returned nothing."""
        if call.timed_out:
            return fail(
                self.name,
                f"too slow: it did not finish within the time budget of {budget:g} s {where}.",
                "Replace Python loops over elements with whole-array NumPy operations "
                "(vectorise), and check that every loop ends.",
            )
        if isinstance(call.error, NotImplementedError):
            return fail(
                self.name,
                "not implemented yet.",
                self.task or "Replace `raise NotImplementedError` with your code.",
            )
        if call.error is not None:
            err = call.error
            return fail(
                self.name,
                f"your function raised {type(err).__name__}: {str(err).strip()} {where}.",
                " ".join(filter(None, [error_hint(err), self.error_hint])),
            )
        return None

    def _changed_inputs(self, given: tuple[Any, ...], case: Case, where: str) -> CheckResult | None:
        """Refuse a function that changed one of its input arrays in place."""
        for name, before, after in zip(self.arg_names, case.args, given, strict=False):
            if not isinstance(before, np.ndarray):
                continue
            nan = np.issubdtype(before.dtype, np.inexact)
            if not np.array_equal(before, after, equal_nan=nan):
                return fail(
                    self.name,
                    f"your function changed its input `{name}` in place "
                    f"{where}; it must leave the arrays it is given as they were.",
                    f"Compute into a new array: `z = {name} - m`, not `{name} -= m`.",
                )
        return None

    def _case_failure(self, value: Any, case: Case, where: str) -> CheckResult | None:
        """Compare one returned value with the reference; explain the first problem found."""
        outputs = self._split_outputs(value, where)
        if isinstance(outputs, CheckResult):
            return outputs
        with np.errstate(all="ignore"):
            expected = self.reference(*copy.deepcopy(case.args), **case.kwargs)
        expected = expected if self.output_names else (expected,)
        for k, (got, exp) in enumerate(zip(outputs, expected, strict=True)):
            problem = self._output_failure(got, np.asarray(exp), k, case, where)
            if problem is not None:
                return problem
        return None

    def _split_outputs(self, value: Any, where: str) -> tuple[Any, ...] | CheckResult:
        """The outputs as a tuple, one per output name, or a message about the structure."""
        if not self.output_names:
            return (value,)
        names = ", ".join(self.output_names)
        n = len(self.output_names)
        if not isinstance(value, (tuple, list)):
            return fail(
                self.name,
                f"your function returns {describe_type(value)}, but a tuple "
                f"of {n} arrays ({names}) was expected {where}.",
                f"End with `return {names}`.",
            )
        if len(value) != n:
            return fail(
                self.name,
                f"your function returns {len(value)} "
                f"value{'' if len(value) == 1 else 's'}, but {n} were expected "
                f"({names}) {where}.",
                f"End with `return {names}`.",
            )
        return tuple(value)

    def _label(self, k: int) -> str:
        """How messages name output ``k``."""
        return f"`{self.output_names[k]}`" if self.output_names else f"your {self.name}"

    def _output_failure(
        self, got: Any, expected: np.ndarray, k: int, case: Case, where: str
    ) -> CheckResult | None:
        """Type, then agreement with the reference, then a diagnosis of the difference."""
        label = self._label(k)
        if expected.ndim == 0 and isinstance(got, (int, float, np.generic)):
            got = np.asarray(got)  # a scalar result, like a loss, may be a plain number
        if not isinstance(got, np.ndarray):
            scalar = expected.ndim == 0
            wanted = "a number" if scalar else f"a NumPy array of shape {expected.shape}"
            hint = "Return a single number." if scalar and got is not None else type_hint(got)
            return fail(
                self.name,
                f"{label} is {describe_type(got)}, but {wanted} was expected {where}.",
                hint,
            )
        if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
            return fail(
                self.name,
                f"{label} has dtype {got.dtype}, not numbers {where}.",
                "Compute with NumPy operations on float arrays.",
            )
        if matches(got, expected, self.rtol, self.atol):
            return None
        mistake = find_mistake(got, k, case, self.mistakes, self.rtol, self.atol)
        if mistake is not None:
            return fail(
                self.name,
                f"{mistake.explanation} {self._detail(got, expected)} {where}.",
                mistake.hint,
            )
        return self._generic_failure(got, expected, label, where)

    def _detail(self, got: np.ndarray, expected: np.ndarray) -> str:
        """The evidence behind a diagnosis: the shapes, or the first value that differs."""
        if got.shape != expected.shape:
            return f"You return shape {got.shape} where {expected.shape} is expected"
        text = first_mismatch(got, expected, self.rtol, self.atol)
        return text[0].upper() + text[1:]

    def _generic_failure(
        self, got: np.ndarray, expected: np.ndarray, label: str, where: str
    ) -> CheckResult:
        """No known mistake matched: explain the shape, the NaN, the factor or the values."""
        if got.shape != expected.shape:
            return fail(
                self.name,
                f"{label} has shape {got.shape} but should have shape {expected.shape} {where}.",
                shape_hint(got.shape, expected.shape),
            )
        finite = np.isfinite(got)
        if not finite.all() and np.isfinite(expected).all():
            return fail(
                self.name,
                f"{label} contains NaN or inf ({int((~finite).sum())} of "
                f"{got.size} values) {where}.",
                self.nan_hint or "Look for exp of a large number, log of 0, or a division by 0.",
            )
        c = scale_factor(got, expected, self.rtol, self.atol)
        if c is not None and np.isclose(c, -1.0):
            return fail(
                self.name,
                f"{label} has the wrong sign {where}.",
                "Check the sign of each term, e.g. (prediction - target).",
            )
        if c is not None:
            return fail(
                self.name,
                f"{label} is {c:.4g} times the expected values {where}.",
                "A constant factor is missing or extra: a division by the batch "
                "size, a factor of 2, a learning rate?",
            )
        return fail(
            self.name,
            f"{label} has wrong values: "
            f"{first_mismatch(got, expected, self.rtol, self.atol)} {where}.",
        )
