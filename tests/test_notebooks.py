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


def _setup_cell(path: Path):
    """The first code cell, after a leading hidden Colab install cell if there is one."""
    cells = _code_cells(path)
    if "remove-cell" in cells[0].metadata.get("tags", []) and "google.colab" in cells[0].source:
        cells = cells[1:]
    return cells[0]


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_first_code_cell_seeds_and_prints_versions(path: Path) -> None:
    first = _setup_cell(path).source
    assert "seed_everything(" in first, "seed in the first code cell (dlbook.seed_everything)"
    assert "print(" in first and "__version__" in first, "the first code cell must print versions"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_outputs_are_stored_in_order_without_errors(path: Path) -> None:
    cells = [c for c in _code_cells(path) if not _skipped(c)]
    counts = [c.execution_count for c in cells]
    assert all(n is not None for n in counts), "run the notebook (make execute) and commit outputs"
    assert counts == sorted(counts), "cells were run out of order; re-execute top to bottom"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored error output: {errors[0].ename}: {errors[0].evalue}"


def _ignored(cell) -> bool:
    """nbval runs the cell but does not compare its output, or does not run it at all."""
    tags = cell.metadata.get("tags", [])
    return "nbval-ignore-output" in tags or "nbval-skip" in tags


def _skipped(cell) -> bool:
    """Live widgets: neither nbval nor tools/execute_notebooks.py runs them."""
    return "nbval-skip" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_only_live_widgets_are_skipped(path: Path) -> None:
    """A skipped cell shows a live widget, defines nothing later cells use, and stores no output."""
    for cell in _code_cells(path):
        if _skipped(cell):
            assert "_widget(" in cell.source, "only live widget cells may be tagged nbval-skip"
            assert not re.search(r"^\w+\s*=", cell.source, flags=re.MULTILINE), (
                "a skipped cell must not define variables: later cells would miss them"
            )
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_ignored_outputs_say_why(path: Path) -> None:
    """Varying outputs carry the nbval-ignore-output tag and an nbval_why; no NBVAL comments."""
    for cell in _code_cells(path):
        assert "NBVAL" not in cell.source, (
            "readers see NBVAL comments: tag the cell 'nbval-ignore-output' and put the "
            "reason in its metadata 'nbval_why' instead"
        )
        why = cell.metadata.get("nbval_why", "")
        if _ignored(cell):
            assert isinstance(why, str) and len(why.split()) >= 2, (
                "a cell tagged nbval-ignore-output or nbval-skip needs metadata "
                "'nbval_why': '<why>'"
            )
        else:
            assert not why, "nbval_why on a cell without the nbval-ignore-output tag"


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_displayed_code_fits_the_column(path: Path) -> None:
    """Code lines fit the book's text column (79 characters); the Colab cell is hidden."""
    for cell in _code_cells(path):
        if "remove-cell" in cell.metadata.get("tags", []):
            continue
        lines = cell.source.splitlines()
        if lines and lines[0].startswith("# On Colab, install dlbook"):
            lines = lines[4:]  # the generated install block (tools/colab_cell.py)
        for line in lines:
            assert len(line) <= 79, f"code line of {len(line)} characters: {line!r}"
            assert "fmt: " not in line and "noqa" not in line, (
                f"linter pragma visible to readers: {line!r}"
            )


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_no_memory_addresses_in_compared_outputs(path: Path) -> None:
    for cell in _code_cells(path):
        if _ignored(cell):
            continue
        for out in cell.outputs:
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"at 0x[0-9a-f]{6,}", text), f"memory address in output: {text!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_printed_outputs_fit_the_column(path: Path) -> None:
    """Printed lines and tables fit the book's text column (80 characters)."""
    for cell in _code_cells(path):
        if "remove-output" in cell.metadata.get("tags", []):
            continue
        for out in cell.outputs:
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            if "image/png" in out.get("data", {}) or "<Figure size" in text:
                continue
            for line in text.splitlines():
                assert len(line) <= 80, (
                    f"an output line of {len(line)} characters scrolls sideways: {line!r}"
                )


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_figures_have_a_caption_a_name_and_alt_text(path: Path) -> None:
    """Every figure is numbered, captioned and described (MyST-NB cell metadata).

    ``"mystnb": {"figure": {"name": ..., "caption": ...}, "image": {"alt": ...}}``
    makes the book wrap the image in a numbered figure that the text can
    reference with {numref}; one figure per cell, so the name stays unique.
    """
    for cell in _code_cells(path):
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        if not images or "remove-output" in cell.metadata.get("tags", []):
            continue
        first = cell.source.splitlines()[0]
        assert len(images) == 1, f"one figure per cell, {len(images)} in {first!r}"
        meta = cell.metadata.get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        assert figure.get("name", "").startswith("fig-"), f"no figure name in {first!r}"
        assert len(figure.get("caption", "").split()) >= 6, f"no caption in {first!r}"
        alt = image.get("alt", "")
        assert len(alt.split()) >= 6 and not re.search(r"\.(png|svg|jpe?g)\b", alt), (
            f"alt text must describe the image, got {alt!r} in {first!r}"
        )


def test_figure_names_are_unique_in_the_book() -> None:
    names = [
        c.metadata["mystnb"]["figure"]["name"]
        for path in CHAPTERS
        for c in _code_cells(path)
        if "figure" in c.metadata.get("mystnb", {})
    ]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


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


_BACKENDS = ("numpy", "torch", "tensorflow")
_LISTED = re.compile(r"src/dlbook/(\w+)/(?:numpy|torch|tensorflow)_backend\.py")


def _three_backend_packages_shown(source: str) -> set[str]:
    """Concept packages with all three backends whose code ``source`` lists."""
    src = ROOT / "src" / "dlbook"
    return {
        pkg
        for pkg in _LISTED.findall(source)
        if all((src / pkg / f"{b}_backend.py").is_file() for b in _BACKENDS)
    }


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapters_show_three_backends_in_tabs(path: Path) -> None:
    """A chapter that lists a concept with NumPy, PyTorch and TensorFlow backends shows
    them side by side at least once, in a tab set synced across the page."""
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    shown = _three_backend_packages_shown(text)
    if not shown:
        pytest.skip("this chapter lists no concept that has all three backends")
    tab_sets = re.findall(r"`{3,}\{tab-set\}\n:sync-group: backend\n(.*?)\n`{5}", text, re.S)
    full = [t for t in tab_sets if all(f":sync: {b}" in t for b in _BACKENDS)]
    assert full, (
        f"{path.name} lists code of {sorted(shown)} (three backends each) but has no "
        "tab set with NumPy, PyTorch and TensorFlow tabs (:sync-group: backend)"
    )


def test_exercises_are_numbered_per_chapter_with_worked_answers() -> None:
    """Exercise N.k headings, :nonumber: blocks, solutions for each (tools/number_exercises.py)."""
    import subprocess
    import sys

    script = ROOT / "tools" / "number_exercises.py"
    out = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, (
        "run `python tools/number_exercises.py` and fix what it reports:\n" + out.stdout
    )


def test_number_exercises_catches_a_missing_worked_answer(tmp_path: Path) -> None:
    """The numbering tool can fail: a derivation exercise without a worked answer."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "number_exercises", ROOT / "tools/number_exercises.py"
    )
    tool = importlib.util.module_from_spec(spec)
    sys.modules["number_exercises"] = tool  # dataclasses look their module up
    spec.loader.exec_module(tool)
    ex = nbformat.v4.new_notebook()
    ex.cells = [
        nbformat.v4.new_markdown_cell(
            "## 1. A gradient\n\n```{exercise} A gradient\n:label: ex-t\n\nDerive it.\n```"
        )
    ]
    sol = nbformat.v4.new_notebook()
    sol.cells = [
        nbformat.v4.new_markdown_cell("## 1. A gradient\n\n```{solution-start} ex-t\n```"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
    ]
    (tmp_path / "solutions").mkdir()
    nbformat.write(ex, tmp_path / "03_t.ipynb")
    nbformat.write(sol, tmp_path / "solutions" / "03_t_solutions.ipynb")
    exercises, changed, problems = tool.number_exercises(tmp_path / "03_t.ipynb")
    assert changed and not problems
    assert exercises["ex-t"].heading == "## Exercise 3.1: A gradient"
    assert ":nonumber:" in nbformat.read(tmp_path / "03_t.ipynb", as_version=4).cells[0].source
    _, sol_problems = tool.number_solutions(
        tmp_path / "solutions" / "03_t_solutions.ipynb", exercises
    )
    assert any("worked answer" in p for p in sol_problems)


def list_markers_inside_math(markdown: str) -> list[str]:
    """Lines that start with ``+``, ``-``, ``*`` or ``1.`` while an inline ``$...$`` is open:
    Markdown reads them as list items and the formula breaks into raw TeX."""
    text = re.sub(r"\$\$.*?\$\$|```.*?```", "", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    bad = []
    for para in text.split("\n\n"):
        inside = False
        for line in para.split("\n"):
            if inside and re.match(r"\s*([-+*]|\d+\.)\s", line):
                bad.append(line.strip()[:80])
            if line.count("$") % 2:
                inside = not inside
    return bad


def test_list_marker_finder_can_fail() -> None:
    assert list_markers_inside_math("so $r = a\n+ b$ holds") == ["+ b$ holds"]
    assert list_markers_inside_math("$r = a + b$\n- an item") == []


@pytest.mark.parametrize("path", ALL, ids=_ids(ALL))
def test_inline_math_does_not_break_across_a_list_marker(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    bad = [
        b for c in nb.cells if c.cell_type == "markdown" for b in list_markers_inside_math(c.source)
    ]
    assert not bad, f"inline math split at a line that Markdown reads as a list item: {bad}"
