"""Launching on Colab and Binder: a hidden install cell built from _config.yml's `repository:`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
colab_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_cell)

NOTEBOOKS = colab_cell.notebooks()
FIX = "run `python tools/colab_cell.py`"


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _old_block(url: str) -> str:
    """The install block as it used to be: four lines on top of the set-up cell."""
    return (
        f"{colab_cell.OLD_MARKER}\n"
        "import importlib.util, sys  # noqa: E401\n"
        'if "google.colab" in sys.modules and importlib.util.find_spec("dlbook") is None:\n'
        f'    !pip install -q "dlbook @ git+{url}"\n'
    )


def test_repository_is_read_from_config() -> None:
    assert colab_cell.repository_url().startswith("https://github.com/")
    assert not colab_cell.repository_url().endswith("/")
    assert colab_cell.repository_branch()


def test_install_cell_keeps_colab_frameworks() -> None:
    block = colab_cell.install_lines("https://example.org/me/book", "dev")
    pip_lines = [line.strip() for line in block.splitlines() if "!pip" in line]
    assert pip_lines[0] == '!pip install -q --no-deps "dlbook @ git+{_home}@dev"'
    assert '_home = "https://example.org/me/book"' in block
    assert "google.colab" in block  # does nothing outside Colab
    for line in pip_lines[1:]:  # only exact pins of what Colab lacks, never a framework
        pins = line.split()[3:]
        assert all("==" in p for p in pins), line
        assert not any(p.split("==")[0] in {"torch", "tensorflow", "numpy"} for p in pins), line
    assert all(len(line) <= 79 for line in block.splitlines()), "the book's 79-column rule"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_first_code_cell_is_the_hidden_install_cell(path: Path) -> None:
    cells = _code_cells(nbformat.read(path, as_version=4))
    first, setup = cells[0], cells[1]
    assert first.source == colab_cell.install_lines(), f"{path.name}: install cell is stale; {FIX}"
    assert colab_cell.TAG in first.metadata.get("tags", []), f"{path.name}: not hidden; {FIX}"
    assert not first.outputs, f"{path.name}: the install cell prints nothing off Colab"
    assert not any(colab_cell.is_install_cell(c) for c in cells[1:]), f"{path.name}: {FIX}"
    assert "google.colab" not in setup.source, f"{path.name}: old install lines left; {FIX}"


def test_old_form_is_split_into_a_hidden_cell() -> None:
    nb = _notebook(_old_block("https://example.org/old") + "\nimport numpy as np", "print(1)")
    block = colab_cell.install_lines("https://example.org/new", "main")
    assert colab_cell.with_install_cell(nb, block)
    install, setup, last = _code_cells(nb)
    assert install.source == block and install.metadata["tags"] == [colab_cell.TAG]
    assert setup.source == "import numpy as np" and last.source == "print(1)"
    assert "example.org/old" not in nbformat.writes(nb)
    assert nb.cells[0].cell_type == "markdown", "the install cell goes where the code starts"


def test_conversion_is_idempotent_and_follows_the_url() -> None:
    nb = _notebook(_old_block("https://example.org/old") + "\nimport numpy as np")
    colab_cell.with_install_cell(nb, colab_cell.install_lines("https://example.org/a", "main"))
    once = nbformat.writes(nb)
    assert not colab_cell.with_install_cell(
        nb, colab_cell.install_lines("https://example.org/a", "main")
    )
    assert nbformat.writes(nb) == once
    assert colab_cell.with_install_cell(nb, colab_cell.install_lines("https://example.org/b", "x"))
    install, setup = _code_cells(nb)
    assert "example.org/b" in install.source and "@x" in install.source
    assert "example.org/a" not in nbformat.writes(nb) and setup.source == "import numpy as np"


def test_an_executed_notebook_stays_numbered_in_order() -> None:
    nb = _notebook(_old_block("https://example.org/old") + "\nx = 1", "print(x)")
    for count, cell in enumerate(_code_cells(nb), start=1):
        cell.execution_count = count
    colab_cell.with_install_cell(nb, colab_cell.install_lines("https://example.org/a", "main"))
    assert [c.execution_count for c in _code_cells(nb)] == [1, 2, 3]
    colab_cell.with_install_cell(nb, colab_cell.install_lines("https://example.org/b", "main"))
    assert [c.execution_count for c in _code_cells(nb)] == [1, 2, 3], "idempotent"


def test_notebook_without_a_block_gets_one_and_duplicates_are_dropped() -> None:
    block = colab_cell.install_lines("https://example.org/new", "main")
    nb = _notebook("import numpy as np")
    assert colab_cell.with_install_cell(nb, block)
    assert [c.source for c in _code_cells(nb)] == [block, "import numpy as np"]
    nb.cells.append(nbformat.v4.new_code_cell(block))  # e.g. a pasted second copy
    assert colab_cell.with_install_cell(nb, block)
    assert [c.source for c in _code_cells(nb)] == [block, "import numpy as np"]


def test_old_block_alone_becomes_the_install_cell() -> None:
    nb = _notebook(_old_block("https://example.org/old"), "import numpy as np")
    block = colab_cell.install_lines("https://example.org/new", "main")
    colab_cell.with_install_cell(nb, block)
    assert [c.source for c in _code_cells(nb)] == [block, "import numpy as np"]


def test_script_check_mode_reports_stale_files(tmp_path: Path, monkeypatch) -> None:
    nb_dir = tmp_path / "chapters"
    nb_dir.mkdir()
    (tmp_path / "exercises").mkdir()
    (tmp_path / "src" / "dlbook").mkdir(parents=True)
    (tmp_path / "_config.yml").write_text(
        "title: x\nrepository:\n  url: https://example.org/me/book/\n  branch: dev\n"
        "  path_to_book: ''\n\nlaunch_buttons:\n  colab_url: x\n"
    )
    nbformat.write(_notebook(_old_block("https://example.org/old") + "\nx = 1"), nb_dir / "a.ipynb")
    monkeypatch.setattr(colab_cell, "ROOT", tmp_path)
    monkeypatch.setattr(colab_cell, "HOME_MODULE", tmp_path / "src" / "dlbook" / "_home.py")
    assert colab_cell.repository_url() == "https://example.org/me/book"
    assert colab_cell.main(["--check"]) == 1
    assert not colab_cell.HOME_MODULE.exists(), "--check writes nothing"
    assert colab_cell.main([]) == 0
    assert colab_cell.main(["--check"]) == 0
    assert 'REPOSITORY_BRANCH = "dev"' in colab_cell.HOME_MODULE.read_text()
    first = _code_cells(nbformat.read(nb_dir / "a.ipynb", as_version=4))[0]
    assert "git+{_home}@dev" in first.source


def test_binder_builds_from_the_pinned_files() -> None:
    reqs = (ROOT / "binder" / "requirements.txt").read_text().split()
    assert "../requirements.txt" in reqs and "../constraints.txt" in reqs
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
