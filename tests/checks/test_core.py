"""The checking machinery: safe calls under a time budget, messages, a toy FunctionCheck."""

from __future__ import annotations

import signal
import threading
import time
import warnings

import numpy as np
import pytest

from dlbook.checks import (
    Case,
    CheckResult,
    FunctionCheck,
    Mistake,
    call_student,
    describe_type,
    shape_hint,
)
from dlbook.checks._core import first_mismatch, scale_factor

# ---------------------------------------------------------------------------
# CheckResult: deterministic plain text
# ---------------------------------------------------------------------------


def test_result_text_pass_and_fail():
    ok = CheckResult(True, "softmax", "correct on 5 test cases.")
    bad = CheckResult(False, "softmax", "wrong axis.", hint="Use axis=axis.")
    assert str(ok) == repr(ok) == "PASS ✅ softmax: correct on 5 test cases."
    assert str(bad) == "FAIL ❌ softmax: wrong axis.\n   Hint: Use axis=axis."


def test_result_displays_as_plain_text_only():
    pretty = pytest.importorskip("IPython.lib.pretty")
    bad = CheckResult(False, "f", "no.", "try again.")
    assert pretty.pretty(bad) == str(bad)
    assert not hasattr(bad, "_repr_html_") and not hasattr(bad, "_repr_markdown_")


# ---------------------------------------------------------------------------
# call_student: the learner's code under a time budget
# ---------------------------------------------------------------------------


def _spin(seconds: float = 60.0) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_call_student_interrupts_a_runaway_loop_and_restores_the_handler():
    def mine(signum, frame):  # pragma: no cover - never fires
        raise AssertionError

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        start = time.perf_counter()
        assert call_student(_spin, (), {}, 0.1).timed_out
        assert time.perf_counter() - start < 2.0
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_call_student_gives_an_outer_timer_back():
    previous = signal.signal(signal.SIGALRM, lambda s, f: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert call_student(lambda: 1, (), {}, 5.0).value == 1
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 25.0 < left <= 30.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_call_student_refuses_an_empty_budget():
    called: list[int] = []
    assert call_student(lambda: called.append(1), (), {}, 0.0).timed_out
    assert called == []


def test_call_student_value_error_and_timeout():
    assert call_student(lambda a, b=0: a + b, (1,), {"b": 2}, 1.0).value == 3
    err = call_student(lambda: 1 / 0, (), {}, 1.0).error
    assert isinstance(err, ZeroDivisionError)

    def swallows():
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a learner's broad except must not hide the timeout
                pass

    start = time.perf_counter()
    assert call_student(swallows, (), {}, 0.1).timed_out
    assert time.perf_counter() - start < 2.0


def test_call_student_silences_numpy_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call_student(lambda: np.log(np.zeros(2)), (), {}, 1.0).value
    assert np.all(np.isneginf(value)) and caught == []


# ---------------------------------------------------------------------------
# Describing things in words
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, words",
    [
        (None, "None"),
        ([1.0, 2.0], "a Python list of length 2"),
        (1.5, "a Python float"),
        (np.float64(1.5), "a NumPy float64 scalar"),
        (np.zeros((2, 3)), "a NumPy array of shape (2, 3) and dtype float64"),
        ("text", "an object of type str"),
    ],
)
def test_describe_type(value, words):
    assert describe_type(value) == words


def test_describe_type_names_a_torch_tensor():
    torch = pytest.importorskip("torch")
    assert describe_type(torch.zeros(2, 3)) == "a torch.Tensor of shape (2, 3)"


@pytest.mark.parametrize(
    "got, expected, words",
    [
        ((3, 2), (2, 3), "transposed"),
        ((3,), (3, 2), "sum or average"),
        ((1, 5), (5,), "keepdims"),
        ((4, 5), (5,), "forget to sum"),
        ((5, 5), (5, 4), "broadcast"),
    ],
)
def test_shape_hint(got, expected, words):
    assert words in shape_hint(got, expected)


def test_first_mismatch_and_scale_factor():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 7.0
    assert first_mismatch(got, expected, 1e-5, 1e-8) == (
        "at index [1, 0] you return 7 where 3 is expected (1 of 4 values differ)"
    )
    assert scale_factor(4.0 * expected, expected, 1e-5, 1e-8) == pytest.approx(4.0)
    assert scale_factor(got, expected, 1e-5, 1e-8) is None
    assert scale_factor(expected, expected, 1e-5, 1e-8) is None


# ---------------------------------------------------------------------------
# A toy FunctionCheck, the way a chapter declares one
# ---------------------------------------------------------------------------


def _double(x: np.ndarray) -> np.ndarray:
    return 2.0 * x


def _cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((rng.normal(size=(2, 3)),), label="a (2, 3) array"),
        Case((rng.normal(size=4),), label="a vector"),
    ]


DOUBLE = FunctionCheck(
    name="double",
    reference=_double,
    make_cases=_cases,
    task="Return 2 x.",
    nan_hint="No NaN please.",
    mistakes=[Mistake("you added 2 instead of multiplying.", lambda x: x + 2.0, hint="Use *.")],
)


def _not_implemented(x):
    raise NotImplementedError


def _in_place(x):
    x *= 2.0
    return x


def _nan(x):
    return np.full_like(x, np.nan)


@pytest.mark.parametrize(
    "fn, words",
    [
        (_not_implemented, "not implemented yet"),
        (lambda x: x + 2.0, "you added 2 instead of multiplying"),
        (lambda x: -2.0 * x, "wrong sign"),
        (lambda x: 6.0 * x, "3 times the expected"),
        (lambda x: x.sum(axis=0) * 2, "has shape (3,) but should have shape (2, 3)"),
        (_nan, "NaN or inf"),
        (lambda x: 2.0 * x + (x > 1), "wrong values: at index"),
        (_in_place, "changed its input `x` in place"),
        (lambda x: (2.0 * x).tolist(), "a Python list"),
        (lambda x: x.astype(str), "dtype <U"),
        (lambda x: np.linalg.inv(x), "raised LinAlgError"),
        (42, "expected a function, got a Python int"),
    ],
)
def test_function_check_explains_each_problem(fn, words):
    result = DOUBLE.run(fn, time_budget=2.0)
    assert not result.passed
    assert words in result.text


def test_function_check_passes_the_reference_and_leaves_global_rng_alone():
    state = np.random.get_state()[1].copy()
    result = DOUBLE.run(_double)
    assert result.passed and str(result) == "PASS ✅ double: correct on 2 test cases."
    assert np.array_equal(np.random.get_state()[1], state)


def test_function_check_is_deterministic():
    wrong = DOUBLE.run(lambda x: 2.0 * x + (x > 0))
    assert str(wrong) == str(DOUBLE.run(lambda x: 2.0 * x + (x > 0)))


def test_function_check_hints_at_the_nan_fix_and_the_task():
    assert "No NaN please." in DOUBLE.run(_nan).hint
    assert DOUBLE.run(_not_implemented).hint == "Return 2 x."


def test_function_check_time_budget_covers_all_cases():
    def slow(x):
        time.sleep(0.15)
        return 2.0 * x

    result = DOUBLE.run(slow, time_budget=0.2)  # the first case fits, the second does not
    assert "too slow" in result.message and "test case 2 of 2" in result.message


def test_function_check_off_the_main_thread_reports_slowness_afterwards():
    results: list[CheckResult] = []

    def slow(x):
        time.sleep(0.1)
        return 2.0 * x

    thread = threading.Thread(target=lambda: results.append(DOUBLE.run(slow, time_budget=0.05)))
    thread.start()
    thread.join()
    assert "too slow" in results[0].message


PAIR = FunctionCheck(
    name="pair",
    reference=lambda x: (x + 1.0, x.sum(axis=0)),
    make_cases=_cases,
    output_names=("a", "b"),
    mistakes=[Mistake("`b` was summed over the wrong axis.", lambda x: x.sum(axis=-1), output=1)],
)


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda x: x + 1.0, "a tuple of 2 arrays (a, b)"),
        (lambda x: (x + 1.0,), "returns 1 value, but 2 were expected"),
        (lambda x: (x + 1.0, x.sum(axis=-1)), "`b` was summed over the wrong axis"),
        (lambda x: (x, x.sum(axis=0)), "`a` has wrong values"),
        (lambda x: [x + 1.0, None], "`b` is None"),
    ],
)
def test_function_check_with_several_outputs(fn, words):
    assert PAIR.run(lambda x: (x + 1.0, x.sum(axis=0))).passed
    result = PAIR.run(fn)
    assert not result.passed and words in result.text


def _mean_square(x: np.ndarray) -> float:
    return float(np.mean(x**2))


LOSS = FunctionCheck(name="mean_square", reference=_mean_square, make_cases=_cases)


@pytest.mark.parametrize(
    "fn, words",
    [
        (lambda x: np.sum(x**2), "you return"),
        (lambda x: None, "is None, but a number was expected"),
        (lambda x: x**2, "has shape (2, 3) but should have shape ()"),
    ],
)
def test_function_check_with_a_scalar_output(fn, words):
    assert LOSS.run(lambda x: np.mean(x**2)).passed  # a NumPy scalar is a number too
    assert LOSS.run(lambda x: float(np.mean(x**2))).passed
    result = LOSS.run(fn)
    assert not result.passed and words in result.text


def test_wrong_float32_values_get_a_word_on_precision():
    result = DOUBLE.run(lambda x: (2.0 * x + 0.25).astype(np.float32))
    assert not result.passed and "has wrong values" in result.message
    assert "float32" in result.hint and "float64" in result.hint
    plain = DOUBLE.run(lambda x: 2.0 * x + 0.25)  # float64: no word on precision
    assert not plain.passed and "float32" not in plain.hint


@pytest.mark.parametrize(
    "index, words",
    [
        (lambda a: a[np.array([0.0, 1.0])], "Indices must be integers"),
        (lambda a: a[np.array([True, False])], "wrong type or shape"),
        (lambda a: a[1.5], "wrong type or shape"),
        (lambda a: a[5], "out of range"),
    ],
)
def test_an_index_error_is_explained_by_its_kind(index, words):
    from dlbook.checks._core import error_hint

    err = call_student(index, (np.arange(3),), {}, 1.0).error
    assert isinstance(err, IndexError)
    assert words in error_hint(err)


def test_a_complex_answer_is_refused_even_with_zero_imaginary_part():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning may reach the learner
        result = DOUBLE.run(lambda x: (2.0 * x).astype(complex))
    assert not result.passed and "complex values" in result.message


def test_a_boolean_answer_to_a_numeric_exercise_is_named():
    result = DOUBLE.run(lambda x: 2.0 * x > 0)
    assert not result.passed and "True/False" in result.message


def test_an_all_zero_answer_is_called_so_not_a_factor_of_0():
    result = DOUBLE.run(np.zeros_like)
    assert not result.passed and "is all zeros" in result.message
    assert "0 times" not in result.message and "placeholder" in result.hint


def test_a_float16_answer_is_not_called_float32():
    result = DOUBLE.run(lambda x: (2.0 * x + 1e-3 * x.max()).astype(np.float16))
    assert not result.passed
    assert "float16" in result.hint and "about 3 significant digits" in result.hint
    assert "float32" not in result.hint


def test_a_tuple_returned_where_one_array_is_expected_gets_its_own_hint():
    result = DOUBLE.run(lambda x: (float((x**2).sum()), 2.0 * x))
    assert not result.passed and "a Python tuple of length 2" in result.message
    assert "return only the array" in result.hint


def test_an_integer_answer_to_a_float_exercise_is_called_so():
    result = DOUBLE.run(lambda x: (2 * x).astype(int))
    assert not result.passed and "integer dtype int64" in result.message
    assert ".astype(int)" in result.hint


def test_a_vector_of_the_wrong_length_gets_a_hint_about_the_loop_not_keepdims():
    assert "You return 5 values where 6 are expected" in shape_hint((5,), (6,))
    assert "keepdims" not in shape_hint((5,), (6,))


def test_a_one_element_array_where_a_number_is_expected_is_told_to_return_the_number():
    assert "Return a single number" in shape_hint((1,), ())
    assert "keepdims" not in shape_hint((1, 1), ())
