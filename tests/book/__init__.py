"""Tests of the built book in ``_build/html``: offline assets, internal links, browser rendering.

They read what ``make book`` wrote and never build it themselves; ``make test`` runs
them as their own pytest invocation, ``pytest tests/book``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# DLBOOK_HTML_DIR points the tests at a book built elsewhere.
HTML_DIR = Path(os.environ.get("DLBOOK_HTML_DIR", ROOT / "_build" / "html"))
BUILD_FIRST = "build the book first: make book"
SCREENSHOT_DIR = ROOT / "_build" / "screenshots"

CHROMIUM = os.environ.get("DLBOOK_CHROMIUM", "/usr/bin/chromium")
# Playwright adds --headless and a fresh temporary --user-data-dir, deleted on close.
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"

# Folders of the built book that hold assets and sources, not pages a reader opens.
NOT_PAGES = ("_static", "_sources", "_images")


def book_pages(html_dir: Path = HTML_DIR) -> list[str]:
    """Every page of the built book, as a path relative to ``html_dir`` (``chapters/01.html``)."""
    if not html_dir.is_dir():
        return []
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0] not in NOT_PAGES:
            pages.append(rel.as_posix())
    return pages


def book_is_built(html_dir: Path = HTML_DIR) -> bool:
    return (html_dir / "index.html").is_file()


_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):")
ALLOWED_SCHEMES = ("data",)  # inline data travels with the page


def is_external(url: str) -> bool:
    """True when ``url`` names another host: it has a scheme (``https:``) or starts with ``//``.

    ``data:`` URLs are inline and count as local.
    """
    url = url.strip()
    if url.startswith("//"):
        return True
    match = _SCHEME.match(url)
    return bool(match) and match.group(1).lower() not in ALLOWED_SCHEMES
