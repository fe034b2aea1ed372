"""Checks for the book's exercises: run a learner's function, explain in words what is wrong.

Each chapter has a module of checks, e.g. :mod:`dlbook.checks.backprop` for chapter 1::

    from dlbook.checks.backprop import check_softmax
    check_softmax(softmax)   # ✅ softmax: correct on 5 test cases.

A check never raises for a learner's mistake; it returns a :class:`CheckResult`,
displayed as one line of plain text (plus a hint when it fails). The machinery that
later chapters build their checks from lives in :mod:`dlbook.checks._core` and is
re-exported here.
"""

from dlbook.checks._core import (
    Call,
    Case,
    CheckResult,
    CheckTimeout,
    FunctionCheck,
    Mistake,
    call_student,
    describe_type,
    fail,
    shape_hint,
    time_limit,
)

__all__ = [
    "Call",
    "Case",
    "CheckResult",
    "CheckTimeout",
    "FunctionCheck",
    "Mistake",
    "call_student",
    "describe_type",
    "fail",
    "shape_hint",
    "time_limit",
]
