"""Every notebook page's Binder and Colab buttons open that very notebook of the configured repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(ROOT.glob("chapters/*.ipynb")) + sorted(ROOT.glob("exercises/**/*.ipynb"))


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
