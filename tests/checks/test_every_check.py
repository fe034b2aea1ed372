"""Problems every exercise check must explain, for every check of every chapter.

Each chapter's test module (``tests/checks/test_<chapter>_checks.py``) declares

* ``CHECKS``: name -> (check, dlbook's reference, a learner's correct solution);
* optionally ``BROKEN``: name -> (NaN output, wrong type, wrong shape) solutions,
  for checks whose outputs :func:`_broken` cannot derive (dicts, tuples, scalars).

The tests below run every check against the broken "solutions" of
:mod:`tests.checks.bad_solutions` and :func:`_broken`, so a new check gets them by
being listed in ``CHECKS``.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np
import pytest

from tests.checks.bad_solutions import crash, no_return, runaway, stub

_MODULES = sorted(p.stem for p in Path(__file__).parent.glob("test_*_checks.py"))


def _collect() -> dict[str, tuple]:
    """'chapter/name' -> (check, reference, solution, broken or None), over every module."""
    table = {}
    for stem in _MODULES:
        module = importlib.import_module(f"tests.checks.{stem}")
        chapter = stem.removeprefix("test_").removesuffix("_checks")
        broken = getattr(module, "BROKEN", {})
        for name, (check, reference, solution) in getattr(module, "CHECKS", {}).items():
            table[f"{chapter}/{name}"] = (check, reference, solution, broken.get(name))
    return table


ALL = _collect()


def _broken(solution):
    """(NaN output, wrong type, wrong shape) made from a correct array-valued solution."""
    return (
        lambda *a, **kw: np.asarray(solution(*a, **kw)) * np.nan,
        lambda *a, **kw: np.atleast_1d(solution(*a, **kw)).tolist(),
        lambda *a, **kw: np.stack([np.asarray(solution(*a, **kw))] * 2),
    )


def test_every_chapter_module_declares_checks():
    """The table is not silently empty: each chapter's module contributes."""
    chapters = {key.split("/")[0] for key in ALL}
    expected = {
        "backprop",
        "optimization",
        "rnn",
        "attention",
        "scale",
        "parallel",
        "compression",
        "trust",
    }
    assert expected <= chapters, chapters


@pytest.mark.parametrize("key", ALL)
def test_reference_and_solution_pass(key):
    check, reference, solution, _ = ALL[key]
    name = key.split("/")[1]
    for fn in (reference, solution):
        result = check(fn)
        assert result.passed, str(result)
        assert str(result).startswith(f"PASS ✅ {name}: correct on ")


@pytest.mark.parametrize("key", ALL)
@pytest.mark.parametrize(
    "student, words",
    [(stub, "not implemented yet"), (crash, "raised IndexError"), (no_return, "None")],
    ids=["stub", "crash", "no-return"],
)
def test_generic_problems_are_named(key, student, words):
    result = ALL[key][0](student)
    assert not result.passed
    assert words in result.message, str(result)


@pytest.mark.parametrize("key", ALL)
@pytest.mark.parametrize(
    "which, words", [(0, "NaN"), (1, "a Python list"), (2, "shape")], ids=["nan", "type", "shape"]
)
def test_nan_wrong_type_and_wrong_shape_are_named(key, which, words):
    check, _, solution, broken = ALL[key]
    result = check((broken or _broken(solution))[which])
    assert not result.passed
    assert words in result.message, str(result)


@pytest.mark.parametrize("key", ALL)
def test_runaway_loop_is_stopped_within_the_budget(key):
    start = time.perf_counter()
    result = ALL[key][0](runaway, time_budget=0.3)
    assert time.perf_counter() - start < 1.5
    assert "too slow" in result.message and "vectorise" in result.hint


@pytest.mark.parametrize("key", ALL)
def test_not_a_function(key):
    result = ALL[key][0](42)
    assert not result.passed and "expected a function" in result.message
