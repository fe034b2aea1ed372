"""The built book works offline: no page or stylesheet loads anything from another host.

Every resource a page loads (scripts, stylesheets, preloads, icons, images, media, frames,
fonts named in CSS) must be a file of ``_build/html``. Plain links a reader clicks
(``<a href="https://...">``, the Binder and Colab launch buttons) are allowed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from . import is_external

# tag -> the attributes through which it loads a resource.
RESOURCE_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}

# url(...) in CSS, quoted or not, and @import "..." without url().
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(['"])([^'"]*)\1""", re.IGNORECASE)


def _srcset_urls(srcset: str) -> list[str]:
    # "a.png 1x, https://b/c.png 2x": the URL is the first word of each candidate.
    return [part.split()[0] for part in srcset.split(",") if part.strip()]


def find_external_css(css: str) -> list[str]:
    """The external ``url(...)`` and ``@import`` references in a stylesheet (fonts included)."""
    found = [m.group(0) for m in _CSS_URL.finditer(css) if is_external(m.group(2))]
    found += [m.group(0) for m in _CSS_IMPORT.finditer(css) if is_external(m.group(2))]
    return found


class _ResourceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.offenders: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for attr in RESOURCE_ATTRS.get(tag, ()):
            if attr not in values:
                continue
            urls = _srcset_urls(values[attr]) if attr == "srcset" else [values[attr]]
            for url in urls:
                if is_external(url):
                    self.offenders.append(f'<{tag} {attr}="{url}">')
        for ref in find_external_css(values.get("style", "")):
            self.offenders.append(f'<{tag} style="...{ref}...">')
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            for ref in find_external_css(data):
                self.offenders.append(f"<style> {ref}")


def find_external_resources(html: str) -> list[str]:
    """Every tag (or inline CSS) in ``html`` that loads a resource from another host."""
    finder = _ResourceFinder()
    finder.feed(html)
    finder.close()
    return finder.offenders


def _report(offenders: dict[str, list[str]], what: str) -> str:
    lines = [
        f"{sum(map(len, offenders.values()))} {what} in {len(offenders)} file(s); "
        "the book must render offline, so ship a local copy in _static instead:"
    ]
    for name, found in offenders.items():
        lines += [f"  {name}: {item}" for item in found]
    return "\n".join(lines)


# --- the checkers themselves --------------------------------------------------------------


def test_checker_catches_external_resources() -> None:
    html = """<html><head>
      <script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
      <script src="_static/local.js"></script>
      <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
      <link rel="next" href="chapters/01.html">
      <style>@import url("http://example.org/a.css"); .x { background: url(x.png) }</style>
    </head><body>
      <a href="https://colab.research.google.com/">launch buttons are links, not resources</a>
      <img src="data:image/png;base64,iVBORw0KGgo=">
      <img src="_images/plot.png" srcset="_images/plot.png 1x, https://cdn.example.org/p.png 2x">
      <iframe src="https://www.youtube.com/embed/x"></iframe>
    </body></html>"""
    assert find_external_resources(html) == [
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js">',
        '<link href="//fonts.googleapis.com/css?family=Lato">',
        '<style> url("http://example.org/a.css")',
        '<img srcset="https://cdn.example.org/p.png">',
        '<iframe src="https://www.youtube.com/embed/x">',
    ]


def test_css_checker_catches_external_fonts() -> None:
    css = """
      @import "../basic.css";
      @import 'https://fonts.googleapis.com/css2?family=Inter';
      @font-face { src: url(https://fonts.gstatic.com/s/inter.woff2) format("woff2"),
                        url('../webfonts/fa-solid-900.woff2') format("woff2"); }
      .icon { background-image: url("data:image/svg+xml;utf8,<svg/>") }
    """
    assert find_external_css(css) == [
        "url(https://fonts.gstatic.com/s/inter.woff2)",
        "@import 'https://fonts.googleapis.com/css2?family=Inter'",
    ]


# --- the built book ---------------------------------------------------------------------


def test_pages_load_nothing_from_other_hosts(html_dir: Path) -> None:
    offenders: dict[str, list[str]] = {}
    pages = sorted(html_dir.rglob("*.html"))
    assert pages, f"no .html files under {html_dir}"
    for path in pages:
        found = find_external_resources(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            offenders[path.relative_to(html_dir).as_posix()] = found
    assert not offenders, _report(offenders, "external resource(s)")


def test_stylesheets_load_nothing_from_other_hosts(html_dir: Path) -> None:
    offenders: dict[str, list[str]] = {}
    sheets = [p for p in sorted(html_dir.rglob("*.css")) if "_sources" not in p.parts]
    assert any("_static" in p.parts for p in sheets), f"no stylesheets in {html_dir}/_static"
    for path in sheets:
        found = find_external_css(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            offenders[path.relative_to(html_dir).as_posix()] = found
    assert not offenders, _report(offenders, "external CSS reference(s)")
