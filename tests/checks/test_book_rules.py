"""Rules every check of the book obeys, found by walking ``dlbook.checks``.

* Named mistakes are told apart: for every pair of mistakes about the same output
  (with different explanations), some test case gives them different results, and
  every mistake differs from the reference on some case. Otherwise a learner could
  be told a mistake they did not make (see ``FunctionCheck.named_mistake``).
* Every check has a stress case (``Case(stress=True)``): large offsets, extreme
  logits, overflow, or an edge case such as a one-sided bound.
* No chapter checker imports another: shared machinery lives in ``_core`` and ``_kinds``.
* A check object holds no state of a run: it is the same before and after.

Modules that appear later (a new chapter's checker) are found by the same walk.
"""

from __future__ import annotations

import ast
import copy
import importlib
import itertools
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import dlbook.checks
from dlbook.checks import FunctionCheck
from dlbook.checks._core import run_mistake, same_output

_PACKAGE = Path(dlbook.checks.__file__).parent
_CHAPTERS = sorted(
    m.name for m in pkgutil.iter_modules([str(_PACKAGE)]) if not m.name.startswith("_")
)


def _checks() -> dict[str, FunctionCheck]:
    """'module/NAME' -> every FunctionCheck defined at the top of a chapter checker."""
    found = {}
    for name in _CHAPTERS:
        try:
            module = importlib.import_module(f"dlbook.checks.{name}")
        except Exception:  # a module being written right now: judged at integration
            continue
        for attr, value in vars(module).items():
            if isinstance(value, FunctionCheck) and value.__module__ != "":
                found[f"{name}/{attr}"] = value
    return found


CHECKS = _checks()


def test_the_walk_finds_the_checks_of_every_chapter():
    chapters = {key.split("/")[0] for key in CHECKS}
    assert {"backprop", "optimization", "rnn", "attention", "scale"} <= chapters
    assert {"parallel", "compression", "trust"} <= chapters
    assert len(CHECKS) >= 35


def _outputs(check: FunctionCheck):
    """The cases, every mistake's output on each, and where each can be named.

    Outputs are compared in order, so a mistake about output k can be named on a
    case only where the same wrong function (the mistakes with the same explanation,
    made by ``each_output``) gives the reference's outputs before k: ``reach[i][n]``.
    ``active[i]``: mistake i differs from the reference on a case where it is reached.
    """
    cases = check.make_cases(np.random.default_rng(check.seed))
    expected = [check.expected(c) for c in cases]
    wrong = [[run_mistake(m, c) for c in cases] for m in check.mistakes]

    def right(i: int, n: int) -> bool:
        w = wrong[i][n]
        k = check.mistakes[i].output
        return w is not None and same_output(w, expected[n][k], check.rtol, check.atol)

    reach = [
        [
            wrong[i][n] is not None
            and all(
                right(j, n)
                for j, other in enumerate(check.mistakes)
                if other.explanation == m.explanation and other.output < m.output
            )
            for n in range(len(cases))
        ]
        for i, m in enumerate(check.mistakes)
    ]
    active = [
        any(reach[i][n] and not right(i, n) for n in range(len(cases)))
        for i in range(len(check.mistakes))
    ]
    return cases, wrong, reach, active


@pytest.mark.parametrize("key", [k for k, c in CHECKS.items() if c.mistakes])
def test_every_pair_of_named_mistakes_is_told_apart(key):
    """Two mistakes about one output that can be named give different results on some
    case, and each runs on at least two cases (the naming rule needs two)."""
    check = CHECKS[key]
    cases, wrong, reach, active = _outputs(check)
    same = lambda a, b: same_output(a, b, check.rtol, check.atol)  # noqa: E731
    mistakes = [(i, m) for i, m in enumerate(check.mistakes) if active[i]]
    problems = []
    for (i, a), (j, b) in itertools.combinations(mistakes, 2):
        if a.output != b.output or a.explanation == b.explanation:
            continue
        apart = [
            n
            for n in range(len(cases))
            if (wrong[i][n] is None) != (wrong[j][n] is None)  # one cannot even run there
            or (wrong[i][n] is not None and not same(wrong[i][n], wrong[j][n]))
        ]
        if not apart:
            problems.append(f"no case tells apart {a.explanation[:50]!r} / {b.explanation[:50]!r}")
    for i, mistake in mistakes:
        if sum(w is not None for w in wrong[i]) < 2:
            problems.append(f"{mistake.explanation[:60]!r} runs on fewer than 2 cases")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("key", [k for k, c in CHECKS.items() if c.mistakes])
def test_every_named_mistake_differs_from_the_reference(key):
    check = CHECKS[key]
    *_, active = _outputs(check)
    explanations = {m.explanation for m in check.mistakes}
    seen = {m.explanation for m, a in zip(check.mistakes, active, strict=True) if a}
    assert explanations == seen, f"equal to the reference on every case: {explanations - seen}"


@pytest.mark.parametrize("key", CHECKS)
def test_every_check_has_a_stress_case(key):
    check = CHECKS[key]
    cases = check.make_cases(np.random.default_rng(check.seed))
    assert any(c.stress for c in cases), f"{key}: mark a stressful case with stress=True"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("chapter", _CHAPTERS)
def test_no_chapter_checker_imports_another(chapter):
    imported = _imports(_PACKAGE / f"{chapter}.py")
    others = {f"dlbook.checks.{c}" for c in _CHAPTERS if c != chapter}
    assert not imported & others, f"{chapter}.py imports {sorted(imported & others)}"


def _state(check: FunctionCheck) -> dict:
    return {k: v for k, v in vars(check).items()}


@pytest.mark.parametrize("key", CHECKS)
def test_a_check_object_holds_no_state_of_a_run(key):
    check = CHECKS[key]
    before = _state(check)
    check.run(check.reference, time_budget=20.0)
    after = _state(check)
    assert before.keys() == after.keys() and all(before[k] is after[k] for k in before)
    assert "_run" not in vars(check)


def test_a_check_can_run_twice_at_once():
    """Two threads run one check: each gets its own verdict (no shared run state)."""
    import threading

    from dlbook.checks.backprop import SOFTMAX

    results = {}

    def wrong(x, axis=-1):
        return np.zeros_like(x)

    def go(name, fn):
        results[name] = SOFTMAX.run(fn, time_budget=20.0)

    threads = [
        threading.Thread(target=go, args=("right", SOFTMAX.reference)),
        threading.Thread(target=go, args=("wrong", wrong)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["right"].passed and not results["wrong"].passed
    assert copy.copy(SOFTMAX).__dict__.keys() == SOFTMAX.__dict__.keys()
