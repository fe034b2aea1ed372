"""A learner's code cannot hang, exit, flood or fool a check; verdicts are readable.

The acceptance tests of the isolation work: a bare ``except:`` around a slow loop,
``sys.exit()``, a monkeypatched ``np.allclose``, a megabyte of prints; the PASS/FAIL
words and the 80-column text; the float32 message; the rule for naming a mistake;
and the cost of a check.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from dlbook.checks import Case, CheckResult, FunctionCheck, Mistake, call_student
from dlbook.checks._core import _TOOL_IDS, PRINT_LIMIT
from dlbook.checks.backprop import SOFTMAX, check_softmax
from dlbook.nn import numpy_backend as nn

# ---------------------------------------------------------------------------
# The watchdog
# ---------------------------------------------------------------------------


def _bare_except_slow_loop(x, axis=-1):
    """Swallows everything, the time-out included, and loops for ever."""
    while True:
        try:
            time.sleep(0.01)
        except:  # noqa: E722 - the learner's bare except
            pass


def _swallowing_helper():
    try:
        time.sleep(0.01)
    except:  # noqa: E722
        pass


def _bare_excepts_in_two_frames(x, axis=-1):
    """A loop that swallows around a helper that swallows too."""
    while True:
        try:
            _swallowing_helper()
        except:  # noqa: E722
            continue


def _swallow_then_return(x, axis=-1):
    """Catches the time-out once and returns a wrong answer: still too slow."""
    try:
        while True:
            pass
    except:  # noqa: E722
        return np.zeros_like(x)


@pytest.mark.parametrize(
    "student", [_bare_except_slow_loop, _bare_excepts_in_two_frames, _swallow_then_return]
)
def test_a_bare_except_cannot_hide_a_time_out(student):
    budget = 0.5
    start = time.perf_counter()
    result = check_softmax(student, time_budget=budget)
    elapsed = time.perf_counter() - start
    assert elapsed < 2 * budget, elapsed
    assert not result.passed and "too slow" in result.message, str(result)
    assert "except" in result.hint


def _nested_bare_excepts(x, axis=-1):
    """Two loops of bare excepts, one inside the other, in one frame."""
    while True:
        try:
            while True:
                try:
                    time.sleep(0.01)
                except:  # noqa: E722
                    pass
        except:  # noqa: E722
            pass


def _three_nested_bare_excepts(x, axis=-1):
    """Three loops of bare excepts, nested."""
    while True:
        try:
            while True:
                try:
                    while True:
                        try:
                            time.sleep(0.01)
                        except:  # noqa: E722
                            pass
                except:  # noqa: E722
                    pass
        except:  # noqa: E722
            pass


def _nested_busy_loops(x, axis=-1):
    """Nested bare excepts around pure Python work, no sleeping."""
    while True:
        try:
            while True:
                try:
                    sum(range(100))
                except:  # noqa: E722
                    pass
        except:  # noqa: E722
            pass


def _swallowing_base_exception_helper():
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass


def _base_exceptions_in_two_frames(x, axis=-1):
    """``except BaseException`` in a loop, around a helper that loops and swallows too."""
    while True:
        try:
            _swallowing_base_exception_helper()
        except BaseException:
            pass


def _finally_that_loops(x, axis=-1):
    """A ``finally:`` that starts another swallowing loop when the first is stopped."""
    try:
        while True:
            time.sleep(0.01)
    finally:
        while True:
            try:
                time.sleep(0.01)
            except:  # noqa: E722
                pass


def _suppress_in_suppress(x, axis=-1):
    """``contextlib.suppress(BaseException)`` loops, nested: a bare except in disguise."""
    import contextlib

    while True:
        with contextlib.suppress(BaseException):
            while True:
                with contextlib.suppress(BaseException):
                    time.sleep(0.01)


def _handler_that_sleeps(x, axis=-1):
    """The handler itself sleeps, so the time-out can also land inside it."""
    while True:
        try:
            time.sleep(0.01)
        except:  # noqa: E722
            time.sleep(0.01)


NESTED = [
    _suppress_in_suppress,
    _handler_that_sleeps,
    _nested_bare_excepts,
    _three_nested_bare_excepts,
    _nested_busy_loops,
    _base_exceptions_in_two_frames,
    _finally_that_loops,
    _bare_excepts_in_two_frames,
]


@pytest.mark.parametrize("budget", [0.5, 0.1])
@pytest.mark.parametrize("student", NESTED)
def test_nested_bare_excepts_time_out_within_twice_the_budget(student, budget):
    """A time-out swallowed inside a loop is raised again at the loop's jump, outside it."""
    start = time.perf_counter()
    result = check_softmax(student, time_budget=budget)
    elapsed = time.perf_counter() - start
    assert elapsed <= 2 * budget + 0.5, elapsed
    assert not result.passed and "too slow" in result.message, str(result)
    assert f"time budget of {budget:g} s" in result.message


@pytest.mark.parametrize("student", NESTED)
def test_nested_bare_excepts_time_out_off_the_main_thread(student):
    import threading

    out = {}

    def worker():
        start = time.perf_counter()
        out["call"] = call_student(student, (np.zeros(3),), {}, 0.3)
        out["elapsed"] = time.perf_counter() - start

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert out["call"].timed_out and out["elapsed"] <= 2 * 0.3 + 0.5, out


def test_the_watchdog_leaves_no_trace_function_or_timer_behind():
    import signal

    call_student(_nested_bare_excepts, (np.zeros(3),), {}, 0.1)
    assert sys.gettrace() is None or "Watchdog" not in repr(sys.gettrace())
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    if hasattr(sys, "monitoring"):  # Python 3.12+: the borrowed tool id is given back
        assert all(sys.monitoring.get_tool(i) is None for i in _TOOL_IDS)


def test_a_bare_except_cannot_hide_a_time_out_off_the_main_thread():
    import threading

    out = {}

    def worker():
        start = time.perf_counter()
        out["call"] = call_student(_bare_except_slow_loop, (np.zeros(3),), {}, 0.3)
        out["elapsed"] = time.perf_counter() - start

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(timeout=10)
    assert out["call"].timed_out and out["elapsed"] < 1.0


@pytest.mark.parametrize(
    "raise_it, words",
    [
        (lambda: sys.exit(), "SystemExit"),
        (lambda: sys.exit(3), "SystemExit: 3"),
        (lambda: exit(), "SystemExit"),
        (lambda: (_ for _ in ()).throw(KeyboardInterrupt), "KeyboardInterrupt"),
    ],
    ids=["sys.exit()", "sys.exit(3)", "exit()", "KeyboardInterrupt"],
)
def test_exit_and_keyboard_interrupt_get_a_verdict(raise_it, words):
    def student(x, axis=-1):
        raise_it()

    result = check_softmax(student)
    assert not result.passed and words in result.message, str(result)
    if "Exit" in words:
        assert "stops the whole program" in result.hint


# ---------------------------------------------------------------------------
# Comparisons bound at import
# ---------------------------------------------------------------------------


def test_a_monkeypatched_allclose_does_not_pass_a_wrong_answer(monkeypatch):
    def wrong(x, axis=-1):
        return np.zeros_like(x)

    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, *r, **k: np.ones(np.shape(a), bool))
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    result = check_softmax(wrong)
    assert not result.passed, str(result)


def test_patching_numpy_inside_the_learners_function_changes_nothing():
    def sneaky(x, axis=-1):
        np.allclose = lambda *a, **k: True  # noqa: F841 - the learner's patch
        return np.zeros_like(x)

    original = np.allclose
    try:
        assert not check_softmax(sneaky).passed
    finally:
        np.allclose = original


# ---------------------------------------------------------------------------
# Printed output
# ---------------------------------------------------------------------------


def test_a_megabyte_of_prints_is_cut_to_a_summary(capsys):
    def chatty(x, axis=-1):
        for _ in range(1_000):
            print("x" * 1_000)
        return nn.softmax(x, axis=axis)

    result = check_softmax(chatty)
    out = capsys.readouterr().out
    assert result.passed
    assert len(out) < PRINT_LIMIT + 500, len(out)
    assert "your function printed" in out and "only the first 2,000" in out


def test_short_prints_pass_through_untouched(capsys):
    def polite(x, axis=-1):
        print("shape", x.shape)
        return nn.softmax(x, axis=axis)

    assert check_softmax(polite).passed
    out = capsys.readouterr().out
    assert "shape (3, 5)" in out and "your function printed" not in out


# ---------------------------------------------------------------------------
# The verdict: words, width, precision
# ---------------------------------------------------------------------------


def test_the_verdict_says_pass_or_fail_in_words_and_fits_80_columns():
    ok = check_softmax(nn.softmax)
    bad = check_softmax(lambda x, axis=-1: np.exp(x) / np.exp(x).sum(axis, keepdims=True))
    assert str(ok).startswith("PASS ✅ softmax: correct on ")
    assert str(bad).startswith("FAIL ❌ softmax: ")
    for result in (ok, bad):
        assert all(len(line) <= 80 for line in str(result).splitlines()), str(result)
    assert "\n   Hint: " in str(bad)


def test_a_long_hint_is_wrapped():
    result = CheckResult(False, "f", "no.", "word " * 60)
    lines = str(result).splitlines()
    assert len(lines) > 3 and all(len(line) <= 80 for line in lines)
    assert result.text.endswith("word ")  # the unwrapped text, for searching


def _softmax32(x, axis=-1):
    x = x.astype(np.float32)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_a_float32_softmax_is_accepted_with_a_word_on_precision():
    result = check_softmax(_softmax32)
    assert result.passed, str(result)
    assert "float32 precision" in result.message and "enough for this exercise" in result.message


def test_a_check_that_needs_float64_says_so():
    strict = FunctionCheck(
        name="softmax",
        reference=nn.softmax,
        make_cases=SOFTMAX.make_cases,
        float32_ok=False,
        float64_why="the exercise compares probabilities to 1e-5",
    )
    result = strict.run(_softmax32)
    assert not result.passed
    assert "agrees with the reference to float32 precision" in result.text
    assert "Float32 is not enough for this exercise" in result.text
    assert "1e-5" in result.text


def test_a_zero_tolerance_mismatch_prints_enough_digits():
    exact = FunctionCheck(
        name="f",
        reference=lambda x: x + 1e-9,
        make_cases=lambda rng: [Case((np.array([0.12573]),), label="one value")],
        rtol=0.0,
        atol=0.0,
    )
    result = exact.run(lambda x: x.copy())
    assert "you return 0.12573 where 0.12573 is" not in result.text
    assert "0.12573000" in result.text, str(result)


# ---------------------------------------------------------------------------
# The rule for naming a mistake
# ---------------------------------------------------------------------------


def _cases(rng):
    """Case 1 makes the two mistakes coincide (a = 1); cases 2 and 3 tell them apart."""
    return [
        Case((np.array([1.0, 2.0]), 1.0), label="a = 1"),
        Case((np.array([1.0, 2.0]), 3.0), label="a = 3"),
        Case((np.array([4.0, 5.0]), 0.5), label="a = 0.5"),
    ]


TWO = FunctionCheck(
    name="scaled",
    reference=lambda x, a: a * x,
    make_cases=_cases,
    mistakes=[
        Mistake("you squared a.", lambda x, a: a * a * x + x),
        Mistake("you added a instead of multiplying.", lambda x, a: x + a * x),
    ],
)


def test_a_mistake_is_named_only_when_two_cases_single_it_out():
    # matches "added a" on all three cases; case 1 alone could be "squared a" too
    named = TWO.run(lambda x, a: x + a * x)
    assert "you added a instead of multiplying" in named.message, str(named)


def test_one_coincidence_is_not_enough_evidence():
    # equals both mistakes on case 1 only, then neither: the symptom is described
    def odd(x, a):
        return 2.0 * x if a == 1.0 else -x

    result = TWO.run(odd)
    assert not result.passed
    assert "squared" not in result.message and "added a" not in result.message, str(result)
    assert "test case 1 of 3" in result.message


def test_a_mistake_is_named_when_its_matching_cases_separate_it():
    # matches "squared a" on cases 1 and 3 (case 2 is neither): case 3 separates the two
    def half(x, a):
        return a * a * x + x if a != 3.0 else np.zeros_like(x)

    result = TWO.run(half)
    assert "you squared a" in result.message, str(result)  # cases 1 and 3: 3 separates


# ---------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------


def test_the_overhead_of_a_check_is_small():
    """Watchdog, output cap, copies and the naming rule cost far below 0.5 s a check."""
    from dlbook.checks.backprop import LINEAR_BACKWARD

    for check in (SOFTMAX, LINEAR_BACKWARD):
        start = time.process_time()
        for _ in range(5):
            assert check.run(check.reference).passed
        per_check = (time.process_time() - start) / 5
        assert per_check < 0.5, per_check
