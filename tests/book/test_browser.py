"""Every page of the built book, opened in a real browser with the network cut off.

Playwright drives the system Chromium (``/usr/bin/chromium``, or ``$DLBOOK_CHROMIUM``); no
browser is downloaded. The book is served from 127.0.0.1 (fixture ``book_url``), and any
request for another host is blocked and counted as a failure, so a passing run proves the
book renders offline. Per page it checks: the page loads, nothing fails (console errors,
uncaught exceptions, failed requests, HTTP errors), every image has loaded, math is typeset,
and the synced NumPy / PyTorch / TensorFlow tabs switch together. The search page must find
a known word. Full-page screenshots of three pages go to ``_build/screenshots``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from . import HTML_DIR, LOCAL_HOST, SCREENSHOT_DIR, book_is_built, book_pages

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Page,
        Request,
        Response,
        Route,
    )
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the browser tests need the playwright package: .venv/bin/pip install -r requirements.txt"
        " (it drives the system Chromium; no browser download is needed)"
    ) from err

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 15_000
SEARCH_WORD = "backpropagation"  # the subject of chapter 1: search must find it
SCREENSHOT_PAGES = {
    "intro.html": "intro.png",
    "chapters/01_backprop.html": "chapter_01_backprop.png",
    "exercises/01_backprop.html": "exercises_01_backprop.png",
}


# --- which pages have what (read from the HTML at collection time) ------------------------


class _PageFacts(HTMLParser):
    """Does a page hold math or tab sets, and does it redirect (``<meta http-equiv=refresh>``)?"""

    MATH_DELIMITERS = ("\\(", "\\[", "$$")
    SKIP_TEXT_IN = {"script", "style", "pre", "code"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.has_math = False
        self.has_tabs = False
        self.redirect: str | None = None
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        classes = values.get("class", "").split()
        self.has_math |= "math" in classes
        self.has_tabs |= "sd-tab-set" in classes
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*(\S+)", values.get("content", ""), re.IGNORECASE)
            self.redirect = match.group(1).strip("'\"") if match else None
        if tag in self.SKIP_TEXT_IN:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP_TEXT_IN and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and any(d in data for d in self.MATH_DELIMITERS):
            self.has_math = True


def _facts(page: str) -> _PageFacts:
    facts = _PageFacts()
    facts.feed((HTML_DIR / page).read_text(encoding="utf-8", errors="replace"))
    facts.close()
    return facts


NOT_BUILT = "(book not built)"  # one placeholder case, so the tests fail instead of vanishing
PAGES = book_pages() if book_is_built() else [NOT_BUILT]
FACTS = {page: _facts(page) for page in PAGES if page != NOT_BUILT}
MATH_PAGES = [p for p in PAGES if p == NOT_BUILT or FACTS[p].has_math]
TAB_PAGES = [p for p in PAGES if p == NOT_BUILT or FACTS[p].has_tabs]


# --- browser, and one recorded visit per test ------------------------------------------


@dataclass
class Visit:
    """A fresh browser tab (its own context, so no storage leaks between tests) and its log."""

    page: Page
    base_url: str
    blocked: list[str] = field(default_factory=list)  # URLs of other hosts, not fetched
    failed: list[str] = field(default_factory=list)  # local URLs that failed or gave an error
    problems: list[str] = field(default_factory=list)
    console_errors: list[tuple[str, str, int]] = field(default_factory=list)  # text, url, line

    def open(self, rel: str, *, settle: bool = False) -> None:
        """Go to ``rel`` (following a meta-refresh redirect) and wait for its ``load`` event."""
        response = self.page.goto(urljoin(self.base_url, rel), wait_until="load")
        assert response is not None and response.status == 200, (
            f"{rel}: expected HTTP 200, got {response.status if response else 'no response'}"
        )
        facts = FACTS.get(rel.split("?")[0])
        if facts is not None and facts.redirect:
            target = urljoin(urljoin(self.base_url, rel), facts.redirect)
            self.page.wait_for_url(target, wait_until="load")
        if settle:  # what loads after `load`: MathJax's components and fonts, web fonts
            self.page.evaluate(SETTLE_JS)

    def failures(self) -> list[str]:
        """Everything that went wrong, each once; a console line that only echoes a request
        already listed (blocked, failed, 4xx) is left out."""
        echoed = set(self.blocked) | set(self.failed)
        console = [
            f"console error: {text} ({url}:{line})"
            for text, url, line in self.console_errors
            if url not in echoed
        ]
        found = [f"external request blocked: {url}" for url in self.blocked]
        return list(dict.fromkeys(found + self.problems + console))

    def blocked_note(self) -> str:
        if not self.blocked:
            return ""
        urls = "\n".join(f"    {url}" for url in self.blocked)
        return f"\n  requests for other hosts were blocked (the book must work offline):\n{urls}"


def _is_favicon_probe(url: str) -> bool:
    # Chromium asks for /favicon.ico on its own when a page names no icon; the book never does.
    return urlsplit(url).path == "/favicon.ico"


@pytest.fixture
def visit(browser: Browser, book_url: str) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    v = Visit(page=page, base_url=book_url)

    def route(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            v.blocked.append(url)
            route.abort("blockedbyclient")

    def on_console(msg: ConsoleMessage) -> None:
        where = msg.location.get("url", "")
        if msg.type == "error" and not _is_favicon_probe(where):
            v.console_errors.append((msg.text, where, msg.location.get("lineNumber", 0)))

    def on_request_failed(request: Request) -> None:
        if request.url not in v.blocked:
            v.failed.append(request.url)
            v.problems.append(f"request failed: {request.url} ({request.failure})")

    def on_response(response: Response) -> None:
        if response.status >= 400 and not _is_favicon_probe(response.url):
            v.failed.append(response.url)
            v.problems.append(f"HTTP {response.status}: {response.url}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: v.problems.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    try:
        yield v
    finally:
        context.close()


# --- in-page probes (JavaScript) ------------------------------------------------------------

UNLOADED_IMAGES_JS = """async (ms) => {
  const imgs = [...document.images];
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  const settled = img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
  });
  await Promise.race([Promise.all(imgs.map(settled)), new Promise(r => setTimeout(r, ms))]);
  return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
             .map(img => img.getAttribute('src'));
}"""

MATHJAX_READY_JS = "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"

MATH_STATE_JS = """async () => {
  await MathJax.startup.promise;
  const math = [...document.querySelectorAll('.math')];
  return {
    containers: document.querySelectorAll('mjx-container').length,
    untypeset: math.filter(el => !el.querySelector('mjx-container'))
                   .map(el => el.textContent.trim().slice(0, 60)),
    errors: [...document.querySelectorAll('mjx-merror')]
                .map(el => el.getAttribute('data-mjx-error') || el.textContent),
  };
}"""

TAB_STATE_JS = """() => {
  const shown = el => !!el && el.getClientRects().length > 0
                      && getComputedStyle(el).visibility !== 'hidden';
  return [...document.querySelectorAll('.sd-tab-set')].map(set => {
    const labels = [...set.querySelectorAll(':scope > label.sd-tab-label')];
    const contents = [...set.querySelectorAll(':scope > .sd-tab-content')];
    return {
      shown: shown(set),
      tabs: labels.map((label, i) => ({
        label: label.textContent.trim(),
        group: label.dataset.syncGroup || null,
        id: label.dataset.syncId || null,
        visible: shown(contents[i]),
      })),
    };
  });
}"""

SETTLE_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
}"""

SEARCH_HITS_JS = (
    "() => document.querySelectorAll('#search-results li a, ul.search li a').length > 0"
)


# --- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(visit: Visit, html_dir: Path, page: str) -> None:
    visit.open(page, settle=True)
    broken = visit.page.evaluate(UNLOADED_IMAGES_JS, 5_000)
    failures = visit.failures() + [f"image did not load: {src}" for src in dict.fromkeys(broken)]
    assert not failures, f"{page}: {len(failures)} problem(s) in the browser:\n" + "\n".join(
        f"  {line}" for line in failures
    )


@pytest.mark.parametrize("page", MATH_PAGES)
def test_math_is_typeset(visit: Visit, html_dir: Path, page: str) -> None:
    visit.open(page)
    started = True
    try:
        visit.page.wait_for_function(MATHJAX_READY_JS, timeout=3_000)
    except PlaywrightTimeout:
        started = False
    if not started:
        scripts = visit.page.evaluate(
            "() => [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s))"
        )
        pytest.fail(
            f"{page} holds math but MathJax never started (scripts: {scripts or 'none'})."
            + visit.blocked_note(),
            pytrace=False,
        )
    state = visit.page.evaluate(MATH_STATE_JS)
    visit.page.wait_for_selector("mjx-container", state="attached", timeout=5_000)
    assert not state["errors"], f"{page}: TeX errors in the math: {state['errors']}"
    assert not state["untypeset"], (
        f"{page}: {len(state['untypeset'])} math element(s) left as raw TeX, e.g. "
        f"{state['untypeset'][:3]}" + visit.blocked_note()
    )


def _shown_tab_ids(state: dict) -> list[str | None]:
    return [tab["id"] or tab["label"] for tab in state["tabs"] if tab["visible"]]


def tab_problems(page: Page) -> tuple[list[str], dict | None]:
    """Click the second tab of the first visible tab set; say what did not follow.

    Returns the problems and the tab that was clicked. That set must show the clicked
    tab's content and hide the first tab's; every other visible set with a tab of the
    same sync group and id must switch to it as well.
    """
    before = page.evaluate(TAB_STATE_JS)
    shown = [i for i, state in enumerate(before) if state["shown"]]
    if not shown:
        return ["it has tab sets (.sd-tab-set) but none is visible"], None
    first = before[shown[0]]
    if len(first["tabs"]) < 2:
        return [f"its first tab set has a single tab: {first['tabs']}"], None
    problems = [
        f"tab set {i} shows {_shown_tab_ids(before[i])} on load; expected exactly one tab"
        for i in shown
        if len(_shown_tab_ids(before[i])) != 1
    ]
    target = first["tabs"][1]
    tab_set = page.locator(".sd-tab-set").nth(shown[0])
    tab_set.locator(":scope > label.sd-tab-label").nth(1).click()
    after = page.evaluate(TAB_STATE_JS)

    clicked = after[shown[0]]["tabs"]
    if not clicked[1]["visible"] or clicked[0]["visible"]:
        problems.append(
            f"clicking the {target['label']!r} tab did not show its content and hide "
            f"{clicked[0]['label']!r}'s (visible: {_shown_tab_ids(after[shown[0]])})"
        )
    if target["group"]:
        for i in shown[1:]:
            synced = any(
                t["group"] == target["group"] and t["id"] == target["id"] for t in after[i]["tabs"]
            )
            if synced and _shown_tab_ids(after[i]) != [target["id"]]:
                problems.append(
                    f"tabs are synced (group {target['group']!r}), yet after choosing "
                    f"{target['label']!r} tab set {i} still shows {_shown_tab_ids(after[i])}"
                )
    return problems, target


@pytest.mark.parametrize("page", TAB_PAGES)
def test_tabs_switch_in_sync(visit: Visit, html_dir: Path, page: str) -> None:
    visit.open(page)
    problems, target = tab_problems(visit.page)
    if target is not None and target["group"] and not problems:
        # sphinx-design remembers a synced choice (localStorage): a reload keeps it.
        visit.page.reload(wait_until="load")
        first_shown = next(s for s in visit.page.evaluate(TAB_STATE_JS) if s["shown"])
        if _shown_tab_ids(first_shown) != [target["id"]]:
            problems.append(
                f"after a reload the tabs forgot the choice {target['label']!r}: "
                f"they show {_shown_tab_ids(first_shown)}"
            )
    assert not problems, f"{page}: the NumPy / PyTorch / TensorFlow tabs misbehave:\n" + (
        "\n".join(f"  {line}" for line in problems)
    )


def _synthetic_tab_page(html_dir: Path, *, with_sync_script: bool) -> str:
    """Three synced tab sets in sphinx-design's markup, using the book's own CSS and JS."""
    sheets = sorted(html_dir.glob("_static/*design*.css"))
    assert sheets, f"no sphinx-design stylesheet in {html_dir / '_static'}"
    script = '<script src="/_static/design-tabs.js"></script>' if with_sync_script else ""
    tab_sets = []
    for n in range(3):
        items = []
        for k, (sync_id, label) in enumerate([("numpy", "NumPy"), ("torch", "PyTorch")]):
            checked = " checked" if k == 0 else ""
            items.append(
                f'<input{checked} id="tab-{n}-{k}" name="set-{n}" type="radio">'
                f'<label class="sd-tab-label" data-sync-group="backend" '
                f'data-sync-id="{sync_id}" for="tab-{n}-{k}">{label}</label>'
                f'<div class="sd-tab-content">{label} code, set {n}</div>'
            )
        tab_sets.append(f'<div class="sd-tab-set">{"".join(items)}</div>')
    return (
        f'<!DOCTYPE html><html><head><link rel="stylesheet" href="/_static/{sheets[0].name}">'
        f"{script}</head><body>{''.join(tab_sets)}</body></html>"
    )


@pytest.mark.parametrize("with_sync_script", [True, False], ids=["synced", "not-synced"])
def test_tab_checker_catches_unsynced_tabs(
    visit: Visit, html_dir: Path, with_sync_script: bool
) -> None:
    """The tab check itself: it passes three synced sets and catches them not following."""
    url = urljoin(visit.base_url, "__tab_check__.html")
    html = _synthetic_tab_page(html_dir, with_sync_script=with_sync_script)
    visit.page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
    visit.page.goto(url, wait_until="load")
    problems, target = tab_problems(visit.page)
    assert target is not None and target["id"] == "torch"
    if with_sync_script:
        assert problems == []
    else:
        assert len(problems) == 2 and all("still shows ['numpy']" in p for p in problems), problems


def test_search_finds_a_known_word(visit: Visit, html_dir: Path) -> None:
    visit.open(f"search.html?q={SEARCH_WORD}")
    found = True
    try:
        visit.page.wait_for_function(SEARCH_HITS_JS, timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        found = False
    if not found:
        summary = visit.page.locator("#search-results").inner_text(timeout=1_000)
        pytest.fail(
            f"search.html found no page for {SEARCH_WORD!r}; the page says: {summary!r}"
            + "".join(f"\n  {line}" for line in visit.failures()),
            pytrace=False,
        )
    assert not visit.failures(), "\n".join(visit.failures())


@pytest.mark.parametrize("page", list(SCREENSHOT_PAGES))
def test_screenshot(visit: Visit, html_dir: Path, page: str) -> None:
    assert (html_dir / page).is_file(), (
        f"{page} is not in the built book; update SCREENSHOT_PAGES in {Path(__file__).name}"
    )
    visit.open(page, settle=True)  # photograph typeset math in its fonts, not raw TeX
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    out = SCREENSHOT_DIR / SCREENSHOT_PAGES[page]
    out.unlink(missing_ok=True)
    visit.page.screenshot(path=str(out), full_page=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{out} is not a PNG"
