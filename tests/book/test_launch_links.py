"""Every notebook page's Binder and Colab buttons open that very notebook of the configured repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# every notebook the table of contents puts in the book (a draft outside _toc.yml has no page)
_TOC_FILES = set(re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()))
NOTEBOOKS = [
    p
    for p in sorted(ROOT.glob("chapters/*.ipynb")) + sorted(ROOT.glob("exercises/**/*.ipynb"))
    if p.relative_to(ROOT).with_suffix("").as_posix() in _TOC_FILES
]


def test_every_chapter_is_in_the_book() -> None:
    chapters = {
        p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.glob("chapters/*.ipynb")
    }
    assert chapters <= _TOC_FILES, f"chapters missing from _toc.yml: {chapters - _TOC_FILES}"


def _repo_slug() -> str:
    url = re.search(r"^\s+url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.MULTILINE)
    assert url, "_config.yml lacks repository.url"
    return url.group(1).removeprefix("https://github.com/").rstrip("/")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_launch_buttons_point_at_the_notebook(nb: Path, html_dir: Path) -> None:
    rel = nb.relative_to(ROOT).as_posix()  # e.g. chapters/01_backprop.ipynb
    page = (html_dir / rel).with_suffix(".html")
    assert page.exists(), f"{rel} has no page in the built book"
    html = page.read_text()
    slug = _repo_slug()
    colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html)
    binder = re.findall(r'href="(https://mybinder\.org/[^"]+)"', html)
    assert colab == [f"https://colab.research.google.com/github/{slug}/blob/main/{rel}"]
    assert binder == [f"https://mybinder.org/v2/gh/{slug}/main?urlpath=tree/{rel}"]
