"""Every internal link of the built book leads somewhere: the file exists, and so does the anchor.

Links with a scheme (``https:``, ``mailto:``) are the reader's business and are not followed.
Links into ``_sources/`` (the download buttons), to ``genindex`` and the bare ``#`` that
themes use for buttons are ignored.
"""

from __future__ import annotations

import functools
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import book_pages, is_external

IGNORED = ("_sources/", "genindex")


class _LinkParser(HTMLParser):
    """Collects ``<a href>`` values and every anchor target (``id=`` on any tag, ``<a name>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if "id" in values:
            self.anchors.add(values["id"])
        if tag == "a":
            if "name" in values:
                self.anchors.add(values["name"])
            if "href" in values:
                self.hrefs.append(values["href"])


@functools.cache
def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def _is_checked(href: str) -> bool:
    href = href.strip()
    if not href or href == "#" or is_external(href) or href.startswith("data:"):
        return False
    return not any(part in href for part in IGNORED)


def _check_link(site: Path, page: Path, href: str) -> str | None:
    """Why ``href`` on ``page`` is broken, or None when it leads somewhere."""
    parts = urlsplit(href.strip())
    if parts.path:
        target = (page.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(site.resolve()):
            return "points outside the built book"
        if not target.is_file():
            return f"no file {target.relative_to(site.resolve()).as_posix()}"
    else:
        target = page.resolve()
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in _parse(target).anchors:
        name = target.relative_to(site.resolve()).as_posix()
        return f'no element with id="{fragment}" in {name}'
    return None


def find_broken_links(site: Path) -> list[tuple[str, str, str]]:
    """``(page, href, reason)`` for every broken internal link of the site in ``site``."""
    _parse.cache_clear()
    broken = []
    for rel in book_pages(site):
        page = site / rel
        for href in _parse(page.resolve()).hrefs:
            if _is_checked(href) and (reason := _check_link(site, page, href)):
                broken.append((rel, href, reason))
    return broken


def test_checker_catches_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.html").write_text(
        """<h1 id="top">A</h1>
        <a href="sub/b.html">fine</a>
        <a href="sub/b.html#part-two">fine anchor</a>
        <a href="sub/b.html#legacy">fine a-name anchor</a>
        <a href="#top">fine self anchor</a>
        <a href="#">ignored</a>
        <a href="https://example.org/missing.html">ignored: external</a>
        <a href="_sources/a.ipynb">ignored: sources</a>
        <a href="sub/">directory index</a>
        <a href="sub/c.html">missing page</a>
        <a href="sub/b.html#part-three">missing anchor</a>
        <a href="#bottom">missing self anchor</a>
        """
    )
    (tmp_path / "sub" / "b.html").write_text(
        """<section id="part-two"><a name="legacy"></a><a href="../a.html#top">back</a></section>"""
    )
    (tmp_path / "sub" / "index.html").write_text("<p>index</p>")
    assert find_broken_links(tmp_path) == [
        ("a.html", "sub/c.html", "no file sub/c.html"),
        ("a.html", "sub/b.html#part-three", 'no element with id="part-three" in sub/b.html'),
        ("a.html", "#bottom", 'no element with id="bottom" in a.html'),
    ]


def test_internal_links_lead_somewhere(html_dir: Path) -> None:
    assert book_pages(html_dir), f"no pages in {html_dir}"
    broken = find_broken_links(html_dir)
    report = "\n".join(f"  {page}: {href}  ({reason})" for page, href, reason in broken)
    assert not broken, f"{len(broken)} broken internal link(s):\n{report}"
