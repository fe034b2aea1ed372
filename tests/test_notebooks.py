"""Structural rules for every notebook (nbval checks their outputs; this checks their form)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").rglob("*.ipynb"))
ALL = CHAPTERS + EXERCISES


def _code_cells(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_notebooks() -> None:
    assert CHAPTERS and EXERCISES


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_first_code_cell_seeds_and_prints_versions(path: Path) -> None:
    first = _code_cells(path)[0].source
    assert "seed_everything(" in first, "seed in the first code cell (dlbook.seed_everything)"
    assert "print(" in first and "__version__" in first, "the first code cell must print versions"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_outputs_are_stored_in_order_without_errors(path: Path) -> None:
    cells = _code_cells(path)
    counts = [c.execution_count for c in cells]
    assert all(n is not None for n in counts), "run the notebook (make execute) and commit outputs"
    assert counts == sorted(counts), "cells were run out of order; re-execute top to bottom"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error output: {errors[0].ename}: {errors[0].evalue}"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_ignored_outputs_say_why(path: Path) -> None:
    for cell in _code_cells(path):
        lines = [line.strip() for line in cell.source.splitlines()]
        for i, line in enumerate(lines):
            if line.startswith("#") and "NBVAL_IGNORE_OUTPUT" in line:
                assert line == "# NBVAL_IGNORE_OUTPUT", (
                    f"nbval only honours the marker alone on its line, found {line!r}"
                )
                assert i + 1 < len(lines) and lines[i + 1].startswith("# Why:"), (
                    "put a '# Why: ...' line under NBVAL_IGNORE_OUTPUT"
                )


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_no_memory_addresses_in_compared_outputs(path: Path) -> None:
    for cell in _code_cells(path):
        if "NBVAL_IGNORE_OUTPUT" in cell.source:
            continue
        for out in cell.outputs:
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"at 0x[0-9a-f]{6,}", text), f"memory address in output: {text!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_ends_with_summary_and_exercise_links(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tail = "\n".join(c.source for c in nb.cells[-2:] if c.cell_type == "markdown")
    assert "## Summary" in tail, "a chapter ends with a summary"
    links = re.findall(r"\]\((\.\./exercises/[^)]+\.ipynb)\)", tail)
    assert links, "a chapter links to its exercises"
    for link in links:
        assert (path.parent / link).resolve().exists(), f"broken exercise link {link}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapters_import_rather_than_define(path: Path) -> None:
    """Chapters use dlbook; algorithm code (functions, classes) lives in src/dlbook."""
    for cell in _code_cells(path):
        defined = re.findall(r"^(?:def|class) (\w+)", cell.source, flags=re.MULTILINE)
        allowed = {n for n in defined if n.startswith(("loss_of_", "grad_of_", "_"))}
        assert set(defined) <= allowed, f"chapter defines {set(defined) - allowed}; move to dlbook"
