"""Checks for the book's exercises: run a learner's function, explain in words what is wrong.

Each chapter has a module of checks, e.g. :mod:`dlbook.checks.backprop` for chapter 1::

    from dlbook.checks.backprop import check_softmax
    check_softmax(softmax)   # PASS ✅ softmax: correct on 6 test cases.

A check never raises for a learner's mistake (nor hangs, nor lets it exit); it
returns a :class:`CheckResult`, plain text that says PASS or FAIL in words, wrapped
at 80 characters, with a hint when it fails. The machinery lives in
:mod:`dlbook.checks._core` (running and comparing, re-exported here) and
:mod:`dlbook.checks._kinds` (the kinds of check several chapters share); a chapter's
checker declares references, cases and mistakes, and imports no other chapter's.
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
]
