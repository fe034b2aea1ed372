"""The package's source is what chapters and the API reference show: no tool markers in it.

Chapters list functions of ``src/dlbook`` with ``literalinclude`` and the API pages
link to the whole source. A formatter switch such as ``# fmt: skip`` is noise a
reader has to skip, so the package is written in the formatter's own style.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "dlbook"
MARKER = re.compile(r"#\s*fmt:\s*(skip|off|on)\b")


def markers_in(text: str) -> list[int]:
    """1-based numbers of the lines of ``text`` that carry a formatter switch."""
    return [n for n, line in enumerate(text.splitlines(), 1) if MARKER.search(line)]


def test_marker_finder_can_fail() -> None:
    assert markers_in("x = 1\ny = [1,  2]  # fmt: skip\n# fmt: off\n") == [2, 3]
    assert markers_in("x = 1  # format: a comment about fmt skip\n") == []


def test_no_formatter_switches_in_the_package() -> None:
    found = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := markers_in(path.read_text(encoding="utf-8")))
    }
    assert not found, (
        "# fmt: skip/off/on in src/dlbook (readers see it in listings); write the code "
        f"the way ruff format lays it out instead: {found}"
    )
