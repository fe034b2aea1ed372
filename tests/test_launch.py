"""Launching on Colab: every notebook's install cell uses the one URL in _config.yml."""

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


def test_repository_url_is_read_from_config() -> None:
    assert colab_cell.repository_url().startswith("https://github.com/")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_cell_installs_from_the_configured_repository(path: Path) -> None:
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert first.source.startswith(colab_cell.install_lines()), (
        f"{path.name}: the Colab install lines differ from _config.yml; run tools/colab_cell.py"
    )


def test_install_block_is_replaced_not_duplicated() -> None:
    old = colab_cell.install_lines("https://example.org/old") + "\nprint(1)"
    new = colab_cell.with_install_lines(old, colab_cell.install_lines("https://example.org/new"))
    assert "example.org/new" in new and "example.org/old" not in new
    assert new.count(colab_cell.MARKER) == 1 and new.endswith("print(1)")


def test_binder_builds_from_the_pinned_files() -> None:
    reqs = (ROOT / "binder" / "requirements.txt").read_text().split()
    assert "../requirements.txt" in reqs and "../constraints.txt" in reqs
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
