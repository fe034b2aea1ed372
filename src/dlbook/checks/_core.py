"""The machinery behind every exercise check: run the learner's code safely, explain what is wrong.

A chapter declares *what* to check and this module does the rest::

    SOFTMAX = FunctionCheck(
        name="softmax",
        reference=nn_np.softmax,                      # the right answer
        make_cases=lambda rng: [Case((rng.normal(size=(3, 5)),), label="a (3, 5) batch")],
        mistakes=[Mistake("normalises over axis 0 instead of the last axis.", wrong_axis_fn)],
    )
    SOFTMAX.run(student_softmax)   # -> CheckResult, "PASS ✅ softmax: ..." or "FAIL ❌ ..."

For every test case a check

1. calls the learner's function on fresh copies of the inputs, under a watchdog
   (:func:`call_student`) that neither a bare ``except:`` nor ``sys.exit()`` can
   escape, with NumPy warnings silenced and printed output capped;
2. turns ``NotImplementedError``, any other exception and running out of time into a
   message (it never raises for a learner's mistake, so the notebook keeps running);
3. refuses outputs of the wrong type or structure, and inputs changed in place;
4. compares each output with the reference within a tolerance, with comparison
   functions bound when this module is imported (a monkeypatched ``np.allclose``
   changes nothing), and says so when the output agrees to float32 precision only;
5. names a known :class:`Mistake` only when the rule of :meth:`FunctionCheck.named_mistake`
   holds: the learner's outputs equal the mistake's on at least two test cases, and
   those cases tell it apart from every other named mistake. Otherwise it describes
   the symptom: the shape, the NaN, a constant factor, or the first value that differs.

Test inputs come from ``np.random.default_rng(seed)``; the global random state is never
touched. A check object holds no state of its own while it runs: each run works on a
private copy (:meth:`FunctionCheck.bind`), so one check can run twice at once.
"""

from __future__ import annotations

import copy
import dis
import functools
import inspect
import io
import signal
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------
# Comparisons, bound at import: a learner who monkeypatches np.allclose, np.isclose
# or np.array_equal in the notebook changes nothing here.
# ---------------------------------------------------------------------------

_abs, _sub, _mul, _add = np.absolute, np.subtract, np.multiply, np.add
_le, _eq, _isnan, _isfinite = np.less_equal, np.equal, np.isnan, np.isfinite
_logical_and, _logical_or, _asarray = np.logical_and, np.logical_or, np.asarray
_errstate, _ndarray = np.errstate, np.ndarray


def isclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """``np.isclose`` built from ufuncs bound at import: ``|a - b| <= atol + rtol |b|``."""
    a, b = _asarray(a), _asarray(b)
    with _errstate(all="ignore"):  # booleans become 0 and 1
        a, b = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
        finite = _logical_and(_isfinite(a), _isfinite(b))
        close = _logical_and(finite, _le(_abs(_sub(a, b)), _add(atol, _mul(rtol, _abs(b)))))
        close = _logical_or(close, _eq(a, b))  # equal infinities
        if equal_nan:
            close = _logical_or(close, _logical_and(_isnan(a), _isnan(b)))
    return close


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """``np.allclose``, bound at import (False for shapes that do not broadcast)."""
    try:
        return bool(isclose(a, b, rtol, atol, equal_nan).all())
    except ValueError:  # shapes that do not broadcast
        return False


def array_equal(a: Any, b: Any, equal_nan: bool = False) -> bool:
    """``np.array_equal``, bound at import (NaN equal to NaN if ``equal_nan``)."""
    a, b = _asarray(a), _asarray(b)
    if a.shape != b.shape:
        return False
    with _errstate(all="ignore"):
        same = _eq(a, b)
        if equal_nan and a.dtype.kind in "fc" and b.dtype.kind in "fc":
            same = _logical_or(same, _logical_and(_isnan(a), _isnan(b)))
    return bool(_asarray(same).all())


# ---------------------------------------------------------------------------
# What a check returns
# ---------------------------------------------------------------------------

WIDTH = 80  # the text column of the book: no line of a verdict is wider


def _wrap(text: str, indent: str = "   ") -> str:
    """``text`` wrapped at :data:`WIDTH` characters, continuation lines indented."""
    return textwrap.fill(
        text, WIDTH, subsequent_indent=indent, break_on_hyphens=False, break_long_words=True
    )


@dataclass(frozen=True, repr=False)
class CheckResult:
    """The verdict of a check, displayed as deterministic plain text (nbval compares it).

    The verdict is said in words, PASS or FAIL (the coloured mark is an extra, so it
    reads the same without a colour-emoji font), and wrapped at 80 characters.
    """

    passed: bool  # True when every test case agreed with the reference
    title: str  # what was checked, usually the exercise's function name
    message: str  # what happened, in a learner's words
    hint: str = ""  # what to try next; empty when there is nothing to add

    @property
    def text(self) -> str:
        """The verdict on one line, unwrapped (for searching it)."""
        mark = "PASS ✅" if self.passed else "FAIL ❌"
        text = f"{mark} {self.title}: {self.message}"
        return f"{text} Hint: {self.hint}" if self.hint else text

    def __str__(self) -> str:
        mark = "PASS ✅" if self.passed else "FAIL ❌"
        text = _wrap(f"{mark} {self.title}: {self.message}")
        return f"{text}\n{_wrap('   Hint: ' + self.hint)}" if self.hint else text

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's text/plain display: the same text as ``str``, no HTML."""
        p.text(str(self))


REAL_HINT = (
    "Look for where a complex number enters (1j, np.emath, np.fft, a complex dtype): the "
    "result must be real, not a complex array with zero imaginary part."
)


def fail(title: str, message: str, hint: str = "") -> CheckResult:
    """A failed :class:`CheckResult`."""
    return CheckResult(False, title, message, hint)


# ---------------------------------------------------------------------------
# Running the learner's code under a watchdog
# ---------------------------------------------------------------------------


class CheckTimeout(BaseException):
    """Raised inside the learner's code when its time budget runs out.

    A ``BaseException``, so that a learner's ``except Exception:`` cannot swallow it; a
    bare ``except:`` can, which is why :func:`call_student` keeps raising it.
    """


def _alarm_available() -> bool:
    """SIGALRM can interrupt running code only on Unix, and only from the main thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _give_back_timer(old_delay: float, old_interval: float, start: float) -> None:
    """Re-arm an outer timer with what is left of it."""
    if old_delay > 0:
        left = max(old_delay - (time.perf_counter() - start), 1e-3)
        signal.setitimer(signal.ITIMER_REAL, left, old_interval)


RETRY = 0.01  # after the deadline, the watchdog strikes again every RETRY seconds


def _pending_raiser() -> Callable[[int], type] | None:
    """``make``, where reading ``make(thread_id).pend`` schedules a time-out; or None.

    ``CPython``'s ``PyThreadState_SetAsyncExc`` makes a thread raise an exception at its
    next check for pending work: a backward jump, or a call. Calling it from Python
    code would raise at once, in the caller; reading the attribute ``pend`` calls it
    from C through a property, so the exception waits for the learner's next jump
    (and is raised there: it never outlives the jump). None where there is no
    ``ctypes.pythonapi`` (PyPy).
    """
    try:
        import ctypes

        set_exc = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
            ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
        )
    except (AttributeError, ImportError, OSError):  # not CPython
        return None

    @functools.cache
    def make(thread_id: int) -> type:
        # the time-out class is the property's argument: set_exc(thread_id, cls)
        meta = type("_Pending", (type,), {"pend": property(functools.partial(set_exc, thread_id))})
        return meta("CheckTimeout", (CheckTimeout,), {"__module__": __name__})

    return make


_MAKE_PENDING = _pending_raiser()
_BACK_JUMPS = {dis.opmap[n] for n in ("JUMP_BACKWARD", "JUMP_ABSOLUTE") if n in dis.opmap}
_MONITORING: Any = getattr(sys, "monitoring", None)  # Python 3.12+ (PEP 669)
_TOOL_IDS = (4, 3)  # sys.monitoring tool ids the watchdog may borrow after a deadline


class _Watchdog:
    """Stops the learner's code at a deadline, even through nested bare ``except:``.

    On the main thread a SIGALRM fires at the deadline and then every :data:`RETRY`
    seconds; each time it raises :class:`CheckTimeout` in the learner's frame (which
    also interrupts a ``time.sleep``) and traces every frame of the learner's call,
    opcode by opcode. From then on, before every backward jump in the learner's code
    (the end of each loop iteration) the tracer schedules one more time-out that is
    raised *at* the jump. An ``except:`` can swallow a time-out raised inside its
    ``try:``, but the jump that would start the loop's next iteration lies outside
    that ``try:``: the time-out raised there leaves the loop, and the next loop out
    meets the same fate, so nested loops of bare ``except:`` unwind one by one.

    The tracer never raises itself (Python removes a trace function that raises, and
    the next handler would then run untraced). Where the exception cannot be
    scheduled (not CPython), it does raise, and a profile function puts it back at
    every call. Python 3.12 raises a scheduled exception at a backward jump as if
    at the loop's top, inside the ``try:``; there ``sys.monitoring`` (PEP 669) is
    used instead: an instruction callback raises at every instruction of the
    learner's code, and, unlike a trace function, stays when it raises, so the first
    instruction of each handler raises again. Before the deadline nothing is traced,
    so the learner's code runs at full speed; off the main thread (no signals there)
    the tracer watches the clock from the start.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.expired = False  # the deadline has passed
        self.active = True  # the learner's code is running
        self.boundary: Any = None  # the frame of call_student's call: never traced
        self.old_trace, self.old_profile = sys.gettrace(), sys.getprofile()
        self.thread = threading.get_ident()  # the learner's thread
        # reading self.timeout.pend schedules a time-out in this thread
        self.timeout = _MAKE_PENDING(self.thread) if _MAKE_PENDING else None
        self.tool: int | None = None  # the sys.monitoring tool id borrowed, if any
        self.watched: list[Any] = []  # code objects whose instructions raise

    def tracer(self, frame: Any, event: str, arg: Any) -> Any:
        if not self.active or id(frame.f_code) in _OWN_CODE:
            return None
        if not self.expired and time.perf_counter() > self.deadline:
            self.expire(frame)
        if self.expired:
            if self.tool is not None:  # sys.monitoring raises from now on
                raise CheckTimeout
            if self.timeout is None:
                if event in ("call", "line"):
                    raise CheckTimeout
            elif event == "call":  # raised as the new frame starts, before any `try:`
                frame.f_trace_opcodes = True
                self.timeout.pend  # noqa: B018
            elif event == "opcode" and frame.f_code.co_code[frame.f_lasti] in _BACK_JUMPS:
                self.timeout.pend  # noqa: B018 - raised at this jump, in the learner's frame
        return self.tracer

    def profiler(self, frame: Any, event: str, arg: Any) -> None:
        """Without scheduled time-outs: put the raising tracer back on the learner's frames."""
        if self.active:
            self.arm(frame)

    def learner_frames(self, frame: Any) -> list[Any]:
        """The frames from ``frame`` down to (not including) the boundary, or []."""
        frames = []
        while frame is not None and frame is not self.boundary:
            frames.append(frame)
            frame = frame.f_back
        return frames if frame is self.boundary else []

    def arm(self, frame: Any) -> bool:
        """Trace every learner frame from ``frame`` down; False if none is a learner's."""
        frames = self.learner_frames(frame)
        if frames and self.monitor(frames):
            return True
        for f in frames:
            f.f_trace, f.f_trace_lines = self.tracer, True
            f.f_trace_opcodes = self.timeout is not None
        if frames and sys.gettrace() is not self.tracer:
            sys.settrace(self.tracer)
        return bool(frames)

    def expire(self, frame: Any) -> bool:
        """The deadline has passed: trace the learner's frames from ``frame`` down."""
        self.expired = True
        if self.timeout is None:
            sys.setprofile(self.profiler)
        return self.arm(frame)

    def strike(self, signum: int, frame: Any) -> None:
        """The SIGALRM handler: after the deadline, raise in the learner's code."""
        if not self.active or (self.timeout is not None and id(frame.f_code) in _OWN_CODE):
            return  # the check's code, or the tracer's, which schedules time-outs
        if self.expire(frame):  # else it landed in the check's own code
            raise CheckTimeout

    # -- Python 3.12+: sys.monitoring ---------------------------------------------

    def monitor(self, frames: list[Any]) -> bool:
        """Make every instruction of ``frames`` raise, and every new call; False if unable."""
        mon = _MONITORING
        if mon is None or self.tool == -1:
            return False
        if self.tool is None:
            self.tool = -1
            for tool in _TOOL_IDS:
                try:
                    mon.use_tool_id(tool, "dlbook.checks watchdog")
                except ValueError:  # in use: a debugger, coverage...
                    continue
                self.tool = tool
                mon.register_callback(tool, mon.events.INSTRUCTION, self.on_instruction)
                mon.register_callback(tool, mon.events.PY_START, self.on_start)
                mon.set_events(tool, mon.events.PY_START)
                break
            if self.tool == -1:
                return False
        for f in frames:
            self.watch(f.f_code)
        return True

    def watch(self, code: Any) -> None:
        if code not in self.watched:
            _MONITORING.set_local_events(self.tool, code, _MONITORING.events.INSTRUCTION)
            self.watched.append(code)

    def on_instruction(self, code: Any, offset: int) -> None:
        if self.active and threading.get_ident() == self.thread:
            raise CheckTimeout

    def on_start(self, code: Any, offset: int) -> None:
        if self.active and threading.get_ident() == self.thread and id(code) not in _OWN_CODE:
            self.watch(code)
            raise CheckTimeout

    def unmonitor(self) -> None:
        """Give the tool id back, with no events left on any code object."""
        if self.tool is None or self.tool == -1:
            return
        mon = _MONITORING
        mon.set_events(self.tool, 0)
        for code in self.watched:
            mon.set_local_events(self.tool, code, 0)
        mon.register_callback(self.tool, mon.events.INSTRUCTION, None)
        mon.register_callback(self.tool, mon.events.PY_START, None)
        mon.free_tool_id(self.tool)


_OWN_CODE = {  # the ids of the watchdog's own code objects: never traced
    id(f.__code__)
    for f in (_Watchdog.tracer, _Watchdog.profiler, _Watchdog.learner_frames, _Watchdog.arm)
    + (_Watchdog.expire, _Watchdog.strike, _Watchdog.monitor, _Watchdog.watch)
    + (_Watchdog.on_instruction, _Watchdog.on_start, _Watchdog.unmonitor)
}


@dataclass
class Call:
    """What happened when the learner's function was called."""

    value: Any = None  # what it returned
    error: BaseException | None = None  # what it raised (SystemExit and KeyboardInterrupt too)
    timed_out: bool = False  # whether it ran out of time


def _guarded_call(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict, dog: _Watchdog, trace: bool
) -> Call:
    """Call ``fn`` with ``dog`` watching; the frame of this function is the boundary.

    With ``trace`` (no signals on this thread) the tracer watches from the start; it is
    set here, so that this frame itself is never traced.
    """
    dog.boundary = sys._getframe()
    if trace:
        sys.settrace(dog.tracer)
    try:
        value = fn(*args, **kwargs)
        dog.active = False  # no call before this line: the tracer must stop first
        call = Call(value=value)
    except BaseException as err:  # SystemExit, KeyboardInterrupt too: all reported
        dog.active = False
        call = Call(error=err)
    if dog.expired or isinstance(call.error, CheckTimeout):
        return Call(timed_out=True)
    return call


# ---------------------------------------------------------------------------
# Printed output: capped, the rest summarised
# ---------------------------------------------------------------------------

PRINT_LIMIT = 2_000  # characters of the learner's printed output shown per check


class _CappedStream(io.TextIOBase):
    """Passes the first :data:`PRINT_LIMIT` characters on to ``target``, counts the rest."""

    def __init__(self, target: Any, shared: list[int]) -> None:
        self.target, self.shared = target, shared  # shared: [characters, lines] printed

    def write(self, text: str) -> int:
        text = str(text)
        shown = max(PRINT_LIMIT - self.shared[0], 0)
        if shown:
            self.target.write(text[:shown])
        self.shared[0] += len(text)
        self.shared[1] += text.count("\n")
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return False


@contextmanager
def capped_output() -> Iterator[list[int]]:
    """Cap what the learner prints (stdout and stderr together); summarise what is cut.

    Nested uses share the outer cap. Yields ``[characters, lines]`` printed so far.
    """
    if isinstance(sys.stdout, _CappedStream):
        yield sys.stdout.shared
        return
    shared = [0, 0]
    real_out, real_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _CappedStream(real_out, shared), _CappedStream(real_err, shared)
    try:
        yield shared
    finally:
        sys.stdout, sys.stderr = real_out, real_err
        if shared[0] > PRINT_LIMIT:
            real_out.write(
                f"\n[... your function printed {shared[0]:,} characters in {shared[1]:,} "
                f"lines; only the first {PRINT_LIMIT:,} are shown.]\n"
            )


def call_student(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], seconds: float
) -> Call:
    """Call ``fn(*args, **kwargs)`` within ``seconds``, catching everything it raises.

    The watchdog (:class:`_Watchdog`) cannot be defeated by a bare ``except:``;
    ``SystemExit`` and ``KeyboardInterrupt`` come back as ``Call.error``. NumPy's
    floating-point warnings are silenced (a check reports NaN and inf in words), and
    printed output is capped (:func:`capped_output`).
    """
    if seconds <= 0:
        return Call(timed_out=True)
    dog = _Watchdog(seconds)
    alarm = _alarm_available()
    with warnings.catch_warnings(), np.errstate(all="ignore"), capped_output():
        warnings.simplefilter("ignore")
        if alarm:
            start = time.perf_counter()
            old_handler = signal.signal(signal.SIGALRM, dog.strike)
            old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, RETRY)
        try:
            call = _guarded_call(fn, args, kwargs, dog, trace=not alarm)
        finally:
            dog.active = False
            dog.unmonitor()
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old_handler)
                _give_back_timer(old_delay, old_interval, start)
            if sys.gettrace() is not dog.old_trace:  # a debugger's or coverage's stays as it is
                sys.settrace(dog.old_trace)
            if sys.getprofile() is not dog.old_profile:
                sys.setprofile(dog.old_profile)
    return call


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
    if isinstance(value, tuple) and any(isinstance(v, (np.ndarray, np.generic)) for v in value):
        return (
            f"You returned a tuple of {len(value)} values, e.g. (loss, grad): return only "
            "the array this exercise asks for."
        )
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
    if expected == () and size_got == 1:
        return "Return a single number: float(a) or a.item() takes it out of a 1-element array."
    if len(got) == len(expected) == 1:
        return (
            f"You return {got[0]} values where {expected[0]} are expected: check where your "
            "loop starts and stops (an index off by one?)."
        )
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


def error_hint(err: BaseException) -> str:
    """A first idea of what to look at, from the type and text of an exception."""
    text = str(err)
    if isinstance(err, SystemExit):
        return (
            "sys.exit() (or exit(), quit()) stops the whole program, not just your "
            "function: return a value, or raise an exception with a message."
        )
    if isinstance(err, KeyboardInterrupt):
        return "The run was interrupted (the stop button, or KeyboardInterrupt raised)."
    if isinstance(err, ValueError) and ("matmul" in text or "aligned" in text):
        return (
            "The inner sizes of a matrix product must agree, (B, H) @ (H, D) -> (B, D): "
            "write each array's shape next to it and transpose (.T) where needed."
        )
    if "broadcast" in text:
        return "Two arrays have incompatible shapes: did you forget keepdims=True on a sum or max?"
    if isinstance(err, NameError):
        return "A name is not defined: run the cells above first, and check the spelling."
    if isinstance(err, IndexError) and ("valid indices" in text or "boolean index" in text):
        return (
            "An index has the wrong type or shape: index with integers, slices, or a boolean "
            "mask of the indexed axes' shape (convert a 0/1 float mask with mask.astype(bool))."
        )
    if isinstance(err, IndexError) and "integer" in text:  # a float array used as indices
        return "Indices must be integers: convert with .astype(int) (or use a boolean mask)."
    if isinstance(err, IndexError):
        return "An index is out of range: axes and positions count from 0."
    return "Read the error message, then print the shapes of your intermediate arrays."


def describe_error(err: BaseException) -> str:
    """'IndexError: list index out of range', short enough for one message."""
    text = str(err).strip()
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _describe_arg(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_inputs(names: Sequence[str], args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """'x: shape (2, 3), axis=-1' for the arguments of one test case."""
    parts = [f"{name}: {_describe_arg(a)}" for name, a in zip(names, args, strict=False)]
    parts += [f"{k}={_describe_arg(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _fmt(v: Any, digits: int = 6) -> str:
    return f"{v:.{digits}g}" if np.isscalar(v) and np.isreal(v) else repr(v)


def fmt_pair(got: Any, expected: Any) -> tuple[str, str]:
    """Two numbers printed with as many digits as it takes for them to look different."""
    for digits in (6, 9, 12, 17):
        a, b = _fmt(got, digits), _fmt(expected, digits)
        if a != b:
            break
    return a, b


def first_mismatch(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """'at index [0, 2] you return 0.1 where 0.3 is expected (2 of 12 values differ)'."""
    bad = ~isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return "all values agree"
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    a, b = fmt_pair(np.asarray(got)[where], np.asarray(expected)[where])
    if not where:  # a single number
        return f"you return {a} where {b} is expected"
    index = "[" + ", ".join(map(str, where)) + "]"
    return (
        f"at index {index} you return {a} where {b} "
        f"is expected ({int(bad.sum())} of {bad.size} values differ)"
    )


def scale_factor(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> float | None:
    """The constant c != 1 with ``got == c * expected``, if there is one.

    A single number is always some multiple of another, so it needs at least two values.
    """
    if expected.size < 2:
        return None
    with np.errstate(all="ignore"):
        got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        norm = float(np.sum(expected * expected))
        if norm == 0 or not np.all(_isfinite(got)):
            return None
        c = float(np.sum(got * expected) / norm)
        if isclose(c, 1.0) or not allclose(got, c * expected, rtol=rtol, atol=atol):
            return None
    return c


# ---------------------------------------------------------------------------
# Precision: float32 answers to float64 references
# ---------------------------------------------------------------------------

F32_RTOL = 2e-4  # float32 rounding, grown through a few operations (eps32 = 1.2e-7)


def float32_agrees(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether ``got`` equals ``expected`` to float32 precision (relative to its scale)."""
    if got.shape != expected.shape or expected.dtype.kind not in "fc":
        return False
    with np.errstate(all="ignore"):
        finite = expected[_isfinite(expected)]
        scale = float(_abs(finite).max()) if finite.size else 1.0
        return allclose(got, expected, rtol=F32_RTOL, atol=F32_RTOL * 0.1 * max(scale, 1e-30))


def lower_precision(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether the learner's floats are narrower than the reference's (float32 for float64)."""
    return (
        got.dtype.kind == "f"
        and expected.dtype.kind == "f"
        and got.dtype.itemsize < expected.dtype.itemsize
    )


# ---------------------------------------------------------------------------
# Declaring a check: test cases and known mistakes
# ---------------------------------------------------------------------------


@dataclass
class Case:
    """One call of the function under test."""

    args: tuple[Any, ...]  # positional arguments
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments
    label: str = ""  # a few words shown to the learner, e.g. "large logits (about 1000)"
    stress: bool = False  # a numerically stressful or edge case (wide rows, overflow...)


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation, and what to tell a learner whose output equals its output."""

    explanation: str  # e.g. "your gradient has the wrong sign."
    fn: Callable[..., Any]  # called like the function under test; returns the wrong output
    output: int = 0  # which output it concerns, for functions that return a tuple
    hint: str = ""  # what to do about it


def on_output(explanation: str, fn: Callable[..., Any], k: int = 0, hint: str = "") -> Mistake:
    """A :class:`Mistake` about output ``k`` of a wrong function that returns a tuple."""
    return Mistake(explanation, lambda *a, **kw: fn(*a, **kw)[k], output=k, hint=hint)


def each_output(
    explanation: str, fn: Callable[..., tuple[Any, ...]], n: int, hint: str = ""
) -> list[Mistake]:
    """One :class:`Mistake` per output of a wrong function that returns a tuple of ``n``.

    Whichever output of the learner's tuple is the first to differ, the mistake is named.
    """
    return [on_output(explanation, fn, k, hint) for k in range(n)]


def matches(got: np.ndarray, wrong: Any, rtol: float, atol: float) -> bool:
    """Whether ``got`` equals ``wrong`` in shape and value (NaN equal to NaN)."""
    try:
        wrong = np.asarray(wrong)
        got = np.asarray(got)
    except Exception:  # a ragged list
        return False
    if wrong.shape != got.shape or wrong.dtype == object or got.dtype == object:
        return False
    return allclose(got, wrong, rtol=rtol, atol=atol, equal_nan=True)


def same_output(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Whether two outputs are equal: arrays and numbers by value, lists, tuples, dicts by item."""
    if a is None or b is None:
        return a is b
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_output(a[k], b[k], rtol, atol) for k in a)
        )
    return matches(a, b, rtol, atol) or (
        isinstance(a, (list, tuple))
        and isinstance(b, (list, tuple))
        and len(a) == len(b)
        and all(same_output(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    )


def run_mistake(mistake: Mistake, case: Case) -> Any:
    """What ``mistake`` computes on ``case`` (None if it cannot run there)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return mistake.fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except Exception:  # this mistake cannot even run on this case
            return None


@dataclass
class _Run:
    """What one run of a check knows: the learner's function, deadline and outputs."""

    fn: Any  # the learner's function
    deadline: float  # time.perf_counter() at which the budget is spent
    budget: float  # the whole time budget, in seconds
    cases: list[Case] = field(default_factory=list)  # the test cases of this run
    outputs: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # case -> learner's
    wrong: dict[tuple[int, int], Any] = field(default_factory=dict)  # (mistake, case) -> output
    notes: list[str] = field(default_factory=list)  # remarks added to a passing verdict


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
    float32_ok: bool = True  # accept float32 outputs that agree to float32 precision
    float64_why: str = ""  # when float32_ok is False: why this exercise needs float64
    inplace_hint: str = ""  # how to avoid changing the inputs, in the exercise's terms
    optional_kwargs: tuple[str, ...] = ()  # passed only if the learner's function takes them

    # -- running ----------------------------------------------------------------

    def bind(self, fn: Any, time_budget: float) -> FunctionCheck:
        """A private copy of this check for one run of ``fn``: the check itself stays as it was."""
        bound = copy.copy(self)
        now = time.perf_counter()
        bound._run = _Run(fn=fn, deadline=now + time_budget, budget=time_budget)
        return bound

    @property
    def run_state(self) -> _Run:
        """The state of the run this (bound) check belongs to."""
        state = self.__dict__.get("_run")
        if state is None:
            raise RuntimeError("run_state exists only while a check runs (see bind)")
        return state

    def run(self, fn: Any, *, time_budget: float = 10.0) -> CheckResult:
        """Check ``fn`` on every case within ``time_budget`` seconds in all; never raises."""
        if not callable(fn):
            return fail(
                self.name,
                f"expected a function, got {describe_type(fn)}.",
                f"Pass the function itself, `{self.name}`, not the result of calling "
                f"it, `{self.name}(...)`.",
            )
        with capped_output():
            return self.bind(fn, time_budget)._run_all()

    def checker(
        self, doc: str, *, name: str = "", time_budget: float = 5.0
    ) -> Callable[..., CheckResult]:
        """The exercise's ``check_<name>(fn, *, time_budget=...)``, which runs this check.

        A chapter writes ``check_softmax = SOFTMAX.checker("Check ...")``; the function
        made here has that name, the docstring ``doc`` and the chapter's module, so
        ``help(check_softmax)`` and the API reference show it like any function.
        """

        def check(fn: Callable[..., Any], *, time_budget: float = time_budget) -> CheckResult:
            return self.run(fn, time_budget=time_budget)

        check.__name__ = check.__qualname__ = name or f"check_{self.name}"
        check.__doc__ = doc
        check.__module__ = sys._getframe(1).f_globals["__name__"]
        return check

    def call_again(self, *args: Any, **kwargs: Any) -> Call:
        """Call the learner's function on copies of ``args`` within the remaining budget."""
        return self.call_again_raw(copy.deepcopy(args), kwargs)

    def _run_all(self) -> CheckResult:
        run = self.run_state
        run.cases = cases = self.make_cases(np.random.default_rng(self.seed))
        calls = []  # every case is called first: naming a mistake needs all the outputs
        for i, case in enumerate(cases):
            given = copy.deepcopy(case.args)  # the learner's copy; case.args stays pristine
            call = self.call_again_raw(given, case.kwargs)
            calls.append((case, given, call))
            if call.timed_out:
                break
            outputs = self._split_outputs(call.value, "")
            if not isinstance(outputs, CheckResult):
                run.outputs[i] = outputs
        for i, (case, given, call) in enumerate(calls):
            where = self.where(i, case)
            failure = (
                self._call_failure(call, run.budget, where)
                or self._changed_inputs(given, case, where)
                or self._case_failure(call.value, case, where)
            )
            if failure is not None:
                return failure
        note = f" {run.notes[0]}" if run.notes else ""
        return CheckResult(True, self.name, f"correct on {len(cases)} test cases.{note}")

    def call_again_raw(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        """Call the learner's function on ``args`` as given (the caller made the copies)."""
        run = self.run_state
        seconds = run.deadline - time.perf_counter()
        kwargs = {
            k: v for k, v in kwargs.items() if k not in self.optional_kwargs or takes(run.fn, k)
        }
        return call_student(run.fn, args, copy.deepcopy(kwargs), seconds)

    def where(self, i: int, case: Case) -> str:
        """'on test case 2 of 5, a vector of 6 logits (x: shape (6,))'."""
        n = len(self.run_state.cases)
        return (
            f"on test case {i + 1} of {n}, {case.label} "
            f"({describe_inputs(self.arg_names, case.args, case.kwargs)})"
        )

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
                "(vectorise), and check that every loop ends (an `except:` that catches "
                "everything can hide an endless loop).",
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
                f"your function raised {describe_error(err)} {where}.",
                " ".join(filter(None, [error_hint(err), self.error_hint])),
            )
        return None

    def _changed_inputs(self, given: tuple[Any, ...], case: Case, where: str) -> CheckResult | None:
        """Refuse a function that changed an input array, or an array inside an input list."""
        for name, before, after in zip(self.arg_names, case.args, given, strict=False):
            what = what_changed(name, before, after)
            if what is not None:
                return fail(
                    self.name,
                    f"your function {what} {where}; it must leave the arrays (and lists) it "
                    "is given as they were.",
                    self.inplace_hint
                    or f"Compute into a new array: `z = {name} - m`, not `{name} -= m`.",
                )
        return None

    def _case_failure(self, value: Any, case: Case, where: str) -> CheckResult | None:
        """Compare one returned value with the reference; explain the first problem found."""
        outputs = self._split_outputs(value, where)
        if isinstance(outputs, CheckResult):
            return outputs
        expected = self.expected(case)
        for k, (got, exp) in enumerate(zip(outputs, expected, strict=True)):
            problem = self._output_failure(got, np.asarray(exp), k, case, where)
            if problem is not None:
                return problem
        return None

    def expected(self, case: Case) -> tuple[Any, ...]:
        """The reference's outputs on ``case``, as a tuple."""
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = self.reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        return expected if self.output_names else (expected,)

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
            hint = type_hint(got)
            if scalar and got is not None:
                tensor = type(got).__module__.split(".")[0] in ("torch", "tensorflow")
                hint = "Return a single number" + (": float(t) converts it." if tensor else ".")
            return fail(
                self.name,
                f"{label} is {describe_type(got)}, but {wanted} was expected {where}.",
                hint,
            )
        if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
            return fail(
                self.name,
                f"{label} has dtype {got.dtype}, not numbers {where}.",
                "Return integers, e.g. np.array(ids, dtype=int)."
                if expected.dtype.kind in "iu"
                else "Compute with NumPy operations on float arrays.",
            )
        if got.dtype.kind == "c" and expected.dtype.kind != "c":
            return fail(
                self.name,
                f"{label} has complex values (dtype {got.dtype}), but real numbers were "
                f"expected {where}.",
                REAL_HINT,
            )
        if got.dtype == bool and expected.dtype.kind in "fc":
            return fail(
                self.name,
                f"{label} is True/False (dtype bool), but numbers were expected {where}.",
                "A comparison (==, <, >) gives booleans: return the numbers themselves (a "
                "0/1 mask that is multiplied later can be made with .astype(float)).",
            )
        if matches(got, expected, self.rtol, self.atol):
            if lower_precision(got, expected):
                self._note_float32()
            return None
        mistake = self.named_mistake(got, k, case)
        if mistake is not None:
            return fail(
                self.name,
                f"{mistake.explanation} {self._detail(got, expected)} {where}.",
                mistake.hint,
            )
        precision = self._precision_failure(got, expected, label, where)
        if precision is not False:
            return precision
        return self._generic_failure(got, expected, label, where)

    # -- naming a mistake ---------------------------------------------------------

    def mistake_output(self, m: int, i: int) -> Any:
        """What mistake number ``m`` computes on case number ``i`` of this run (cached)."""
        run = self.run_state
        if (m, i) not in run.wrong:
            run.wrong[m, i] = run_mistake(self.mistakes[m], run.cases[i])
        return run.wrong[m, i]

    def _same(self, a: Any, b: Any) -> bool:
        return a is not None and b is not None and same_output(a, b, self.rtol, self.atol)

    def named_mistake(
        self, got: Any, k: int, case: Case, view: Callable[[Any], Any] | None = None
    ) -> Mistake | None:
        """The known mistake to name for output ``k`` on ``case``, by the two-case rule.

        Mistake M is named only if (1) ``got`` equals M's output on this case, (2) the
        learner's output ``k`` equals M's on at least two test cases in all, and (3) for
        every other mistake about output ``k`` (with another explanation), one of those
        matching cases gives it a different result than M. Otherwise there is not
        enough evidence to tell M from another mistake, and the check describes the
        symptom instead. ``view`` turns the learner's output ``k`` on another case into
        what the mistakes return (e.g. a list of arrays into one flat array).
        """
        run = self.run_state
        i = next((j for j, c in enumerate(run.cases) if c is case), None)
        if i is None:  # a case made on the fly: no other case to weigh it against
            return None
        mine = {j: _viewed(view, out[k]) for j, out in run.outputs.items() if k < len(out)}
        mine[i] = got
        ours = [m for m, mistake in enumerate(self.mistakes) if mistake.output == k]
        for m in ours:
            if not self._same(got, self.mistake_output(m, i)):
                continue
            agree = [j for j, out in mine.items() if self._same(out, self.mistake_output(m, j))]
            if len(agree) < 2:
                continue
            explanation = self.mistakes[m].explanation
            if all(
                any(
                    not self._same(self.mistake_output(m, j), self.mistake_output(o, j))
                    for j in agree
                )
                for o in ours
                if self.mistakes[o].explanation != explanation
            ):
                return self.mistakes[m]
        return None

    # -- precision ----------------------------------------------------------------

    def _note_float32(self) -> None:
        notes = self.run_state.notes
        if not notes:
            notes.append(
                "(Your outputs are float32: they agree with the float64 reference to "
                "float32 precision, which is enough for this exercise.)"
            )

    def _precision_failure(
        self, got: np.ndarray, expected: np.ndarray, label: str, where: str
    ) -> CheckResult | None | bool:
        """None to accept a float32 answer, a verdict about precision, or False."""
        if not float32_agrees(got, expected):
            return False
        tolerance = f"rtol = {self.rtol:g}, atol = {self.atol:g}"
        detail = first_mismatch(got, expected, self.rtol, self.atol)
        if lower_precision(got, expected):
            if self.float32_ok:
                self._note_float32()
                return None
            return fail(
                self.name,
                f"{label} agrees with the reference to float32 precision, but not to this "
                f"check's tolerance ({tolerance}): {detail} {where}. Float32 is not "
                f"enough for this exercise{': ' + self.float64_why if self.float64_why else ''}.",
                "Compute in float64: the inputs are float64, so leave out the "
                ".astype(np.float32) (or dtype=np.float32).",
            )
        return fail(
            self.name,
            f"{label} agrees with the reference only to about float32 precision, not to "
            f"this check's tolerance ({tolerance}): {detail} {where}.",
            "Your result is float64 but lost precision on the way: look for a float32 "
            "intermediate (astype, dtype=np.float32) or a subtraction of two nearly equal "
            "large numbers, such as E[x²] − E[x]². Or the formula is slightly off: one "
            "term too many or too few in a sum or an average.",
        )

    def _detail(self, got: np.ndarray, expected: np.ndarray) -> str:
        """The evidence behind a diagnosis: the shapes, or the first value that differs."""
        if got.shape != expected.shape:
            return f"You return shape {got.shape} where {expected.shape} is expected"
        text = first_mismatch(got, expected, self.rtol, self.atol)
        return text[0].upper() + text[1:]

    def _generic_failure(
        self, got: np.ndarray, expected: np.ndarray, label: str, where: str
    ) -> CheckResult:
        """No known mistake named: explain the shape, the NaN, the factor or the values."""
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
        if got.dtype.kind in "iu" and not array_equal(expected, np.round(expected), equal_nan=True):
            return fail(
                self.name,
                f"{label} has integer dtype {got.dtype}, but the expected values are not "
                f"whole numbers {where}.",
                "An integer array truncates what is stored in it: create arrays with a float "
                "dtype (np.zeros(shape), not dtype=int) and leave out .astype(int).",
            )
        if got.size and not got.any() and np.any(expected):
            return fail(
                self.name,
                f"{label} is all zeros {where}.",
                "Is a placeholder such as np.zeros_like(...) still there, or is the result "
                "never written into it?",
            )
        c = scale_factor(got, expected, self.rtol, self.atol)
        if c is not None and isclose(c, -1.0):
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
            f"Your output is {got.dtype}, which keeps about {7 if got.itemsize > 2 else 3} "
            "significant digits: with large or widely spread values that changes the result. "
            "Compute in float64."
            if lower_precision(got, expected)
            else "",
        )


def _viewed(view: Callable[[Any], Any] | None, value: Any) -> Any:
    """``view(value)``, or None when the learner's value does not fit it."""
    if view is None:
        return value
    try:
        return view(value)
    except Exception:  # a malformed output on that case: no evidence either way
        return None


def takes(fn: Any, name: str) -> bool:
    """Whether ``fn`` accepts the keyword argument ``name`` (by name or through **kwargs)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature: try it
        return True
    return any(
        p.name == name and p.kind != p.POSITIONAL_ONLY or p.kind == p.VAR_KEYWORD
        for p in parameters
    )


def what_changed(name: str, before: Any, after: Any) -> str | None:
    """'changed its input `grads[1]` in place' if the learner's copy differs from ``before``.

    Arrays are compared value by value, lists and tuples element by element.
    """
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or after.dtype != before.dtype:
            return f"replaced `{name}` in the list it was given by {describe_type(after)}"
        nan = np.issubdtype(before.dtype, np.inexact)
        same = after.shape == before.shape and array_equal(before, after, equal_nan=nan)
        return None if same else f"changed its input `{name}` in place"
    if isinstance(before, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(after) != len(before):
            return f"changed the length of its input `{name}`"
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            what = what_changed(f"{name}[{i}]", b, a)
            if what is not None:
                return what
    return None
