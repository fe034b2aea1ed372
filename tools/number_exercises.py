"""Number the exercises of each chapter as the book does: Exercise 5.1, 5.2, ...

The convention, for every pair ``exercises/NN_name.ipynb`` and
``exercises/solutions/NN_name_solutions.ipynb``:

* The chapter number is the file's prefix ``NN`` (``05_rnn`` -> 5), the number
  the chapter's own text uses ("chapter 5").
* Each exercise is one markdown cell that starts with the heading
  ``## Exercise N.k: <short title>`` (k = 1, 2, ... in order) followed by a
  sphinx-exercise block ```` ```{exercise} <title> ```` with a ``:label:``
  and the ``:nonumber:`` flag. sphinx-exercise would otherwise number all
  exercises of the book 1, 2, ... 40 in one sequence; the heading carries the
  per-chapter number instead, and the page's contents list shows it.
* The solutions notebook repeats the same heading above the
  ```` ```{solution-start} <label> ```` block of that exercise.
* An exercise that asks for a derivation ("derive", "show that", "prove",
  "by hand", "on paper") has a worked answer: a markdown cell inside its
  solution block (between ``solution-start`` and ``solution-end``), before the
  code.

Run it after adding or reordering exercises; it rewrites headings and flags in
place and reports what it cannot fix (a missing solution, a derivation without
a worked answer):

    python tools/number_exercises.py                       # every pair
    python tools/number_exercises.py exercises/03_cnn.ipynb  # one chapter
    python tools/number_exercises.py --check               # change nothing; exit 1 if
                                                           # anything is off (the tests)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HEADING = re.compile(r"^## (?:\d+\.\s+|Exercise \d+\.\d+:\s+)?(?P<title>.+)$", re.MULTILINE)
EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n(?P<options>(?::[^\n]*\n)*)", re.MULTILINE)
LABEL = re.compile(r"^:label:\s*(?P<label>\S+)\s*$", re.MULTILINE)
SOLUTION_START = re.compile(r"^```\{solution-start\}\s*(?P<label>\S+)", re.MULTILINE)
SOLUTION_END = re.compile(r"^```\{solution-end\}", re.MULTILINE)
DERIVATION = re.compile(r"\b(derive|show that|prove|by hand|on paper)\b", re.IGNORECASE)


@dataclass
class Report:
    """What one run changed and what it found wrong."""

    changed: list[str] = field(default_factory=list)  # "path: what"
    problems: list[str] = field(default_factory=list)  # "path: what"


def chapter_number(path: Path) -> int:
    """The chapter number from the file name: ``05_rnn.ipynb`` -> 5."""
    match = re.match(r"(\d+)_", path.name)
    if not match:
        raise SystemExit(f"{path}: exercise notebooks are named NN_name.ipynb")
    return int(match.group(1))


def solutions_path(exercises: Path) -> Path:
    return exercises.parent / "solutions" / f"{exercises.stem}_solutions.ipynb"


def _set_heading(source: str, heading: str) -> str:
    """Replace the first level-2 heading of ``source`` (or put one on top)."""
    match = HEADING.search(source)
    if match is None:
        return f"{heading}\n\n{source}"
    return source[: match.start()] + heading + source[match.end() :]


@dataclass
class Exercise:
    """What the solutions notebook needs to know about one exercise."""

    heading: str  # "## Exercise 5.2: Backpropagation through time, by hand"
    derivation: bool  # the exercise asks for a derivation: it needs a worked answer


def number_exercises(path: Path) -> tuple[dict[str, Exercise], bool, list[str]]:
    """Renumber one student notebook; return ({label: Exercise}, changed, problems)."""
    nb = nbformat.read(path, as_version=4)
    n = chapter_number(path)
    exercises: dict[str, Exercise] = {}
    problems: list[str] = []
    changed = False
    k = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = EXERCISE.search(cell.source)
        if match is None:
            continue
        k += 1
        label_match = LABEL.search(match.group("options"))
        if label_match is None:
            problems.append(f"{path}: exercise {k} has no :label:")
            continue
        label = label_match.group("label")
        title_match = HEADING.search(cell.source[: match.start()])
        if title_match is None:
            problems.append(f"{path}: exercise {label} has no '## ...' heading above it")
            continue
        heading = f"## Exercise {n}.{k}: {title_match.group('title').strip()}"
        source = _set_heading(cell.source, heading)
        if ":nonumber:" not in match.group("options"):
            end = match.end("options")
            source = source.replace(
                match.group(0), match.group(0)[: end - match.start()] + ":nonumber:\n", 1
            )
        if source != cell.source:
            cell.source = source
            changed = True
        derivation = bool(DERIVATION.search(cell.source[match.start() :]))
        exercises[label] = Exercise(heading, derivation)
    if changed:
        nbformat.write(nb, path)
    return exercises, changed, problems


def number_solutions(path: Path, exercises: dict[str, Exercise]) -> tuple[bool, list[str]]:
    """Give each solution block the heading of its exercise; check worked derivations."""
    problems: list[str] = []
    if not path.exists():
        return False, [f"{path}: missing (every exercise notebook has a solutions notebook)"]
    nb = nbformat.read(path, as_version=4)
    changed = False
    seen: set[str] = set()
    open_label: str | None = None
    worked = False
    for cell in nb.cells:
        start = SOLUTION_START.search(cell.source) if cell.cell_type == "markdown" else None
        if start is not None:
            open_label, worked = start.group("label"), False
            seen.add(open_label)
            if open_label not in exercises:
                problems.append(f"{path}: solution for unknown exercise {open_label!r}")
                continue
            source = _set_heading(cell.source, exercises[open_label].heading)
            # a worked answer may follow the solution-start in the same cell
            worked = bool(cell.source[start.end() :].split("```", 2)[-1].strip())
            if source != cell.source:
                cell.source, changed = source, True
            continue
        if open_label is None:
            continue
        if cell.cell_type == "markdown" and SOLUTION_END.search(cell.source):
            exercise = exercises.get(open_label)
            if exercise is not None and exercise.derivation and not worked:
                problems.append(
                    f"{path}: exercise {open_label} asks for a derivation; put a worked "
                    "answer (a markdown cell) inside its solution block"
                )
            open_label = None
        elif cell.cell_type == "markdown":
            worked = True
    for label in exercises:
        if label not in seen:
            problems.append(f"{path}: no solution-start for exercise {label}")
    if changed:
        nbformat.write(nb, path)
    return changed, problems


def run(paths: list[Path], check: bool) -> Report:
    report = Report()
    for path in paths:
        if check:  # work on copies: --check changes nothing
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / path.name
                (Path(tmp) / "solutions").mkdir()
                shutil.copy(path, copy)
                if solutions_path(path).exists():
                    shutil.copy(solutions_path(path), solutions_path(copy))
                exercises, ex_changed, problems = number_exercises(copy)
                sol_changed, sol_problems = number_solutions(solutions_path(copy), exercises)
                problems = [q.replace(str(Path(tmp)), str(path.parent)) for q in problems]
                sol_problems = [q.replace(str(Path(tmp)), str(path.parent)) for q in sol_problems]
        else:
            exercises, ex_changed, problems = number_exercises(path)
            sol_changed, sol_problems = number_solutions(solutions_path(path), exercises)
        if ex_changed:
            report.changed.append(f"{path.relative_to(ROOT)}: headings or :nonumber:")
        if sol_changed:
            report.changed.append(f"{solutions_path(path).relative_to(ROOT)}: headings")
        report.problems += problems + sol_problems
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="student notebooks (default: all)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if off")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.paths] or sorted((ROOT / "exercises").glob("*.ipynb"))
    report = run(paths, args.check)
    verb = "would change" if args.check else "changed"
    for line in report.changed:
        print(f"{verb}: {line}")
    for line in report.problems:
        print(f"problem: {line}")
    return 1 if report.problems or (args.check and report.changed) else 0


if __name__ == "__main__":
    sys.exit(main())
