"""The book as a reader sees it, measured on every reader page at 1280 px and at 390 px.

Each page is opened once per width in Chromium (offline, like ``test_browser.py``); one
in-page probe records what the tests below assert, and a full-page screenshot (JPEG) goes to
``_build/screenshots/<width>/``. Reader pages are those of the table of contents; the
generated source listings (``_modules/``), the index and the search page are left out
(their links are checked by ``test_links.py``).

- At 1280 px, no code cell, output or table of a chapter, exercise or appendix page scrolls
  sideways, apart from the few in ``ALLOWED_WIDE`` (at most 5, each with its reason).
- At 390 px (a phone), ``document.documentElement.scrollWidth <= innerWidth``: wide code,
  tables and equations scroll inside their own box, never the page.
- Every content image is displayed at >= 0.9 of its natural CSS width, or its smallest text
  is >= 9 px at display size (declared by the figure helper in the PNG, see
  ``declared_min_font_px``), and its alt text says what it shows (not a file name).
- No ``NBVAL``, ``# fmt:`` or ``noqa`` marker is visible.
- An exercise check's verdict says PASS or FAIL in words (readable without an emoji font),
  those words render as distinct glyphs in the page's own font, and the hint wraps.
- The execution-statistics page lists every notebook of the book with its seconds.
- No API page is over 300 KB, every public module of ``dlbook`` has exactly one, and
  napoleon turns no prose into fake parameters.
"""

from __future__ import annotations

import functools
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from . import HTML_DIR, LOCAL_HOST, ROOT, SCREENSHOT_DIR, book_is_built, book_pages

pytestmark = pytest.mark.timeout(120)

WIDTHS = {"desktop": 1280, "phone": 390}
TIMEOUT_MS = 20_000
# Pages whose code, outputs and tables must fit the column at 1280 px.
FIT_AT_1280 = ("chapters/", "exercises/", "appendix/")
# Blocks allowed to scroll sideways at 1280 px: (page, start of the block's text) -> why.
# At most 5 in the whole book; each needs a reason a reader would accept.
ALLOWED_WIDE: dict[tuple[str, str], str] = {}
MAX_ALLOWED_WIDE = 5
MIN_IMAGE_SCALE = 0.9
MIN_TEXT_PX = 9.0
API_PAGE_LIMIT = 300 * 1024
# Test-tool markers a reader must not see (a JavaScript regular expression).
MARKERS = r"NBVAL|\bfmt:\s*(?:skip|off|on)\b|\bnoqa\b"
# An alt text that is only a file name or path ("../_images/abc.png", "plot.svg").
FILE_NAME_ALT = re.compile(r"(?:^|[/\\])[\w.-]+\.(?:png|jpe?g|gif|svg|webp|pdf)\s*$|_images/", re.I)
PASS_EMOJI, FAIL_EMOJI = "\u2705", "\u274c"


def reader_pages(html_dir: Path = HTML_DIR) -> list[str]:
    """The pages of the table of contents (and index.html), not generated listings."""
    toc = (ROOT / "_toc.yml").read_text()
    docs = set(re.findall(r"file:\s*(\S+)", toc)) | {re.search(r"root:\s*(\S+)", toc).group(1)}
    for pattern in re.findall(r"glob:\s*(\S+)", toc):
        docs |= {p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.glob(pattern + ".*")}
    return [p for p in book_pages(html_dir) if p.removesuffix(".html") in docs]


NOT_BUILT = "(book not built)"
PAGES = reader_pages() if book_is_built() else [NOT_BUILT]
FIT_PAGES = [p for p in PAGES if p == NOT_BUILT or p.startswith(FIT_AT_1280)]


# --- the in-page probe ----------------------------------------------------------------------

SETTLE_JS = """async () => {
  document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; });
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 5000);
  })));
}"""

# Runs in the page; returns plain data for the tests. `emoji` = [pass, fail] symbols.
PROBE_JS = r"""([passEmoji, failEmoji, markerSource]) => {
  const markerRe = new RegExp(markerSource);
  const article = document.querySelector('article.bd-article') || document.body;
  const snippet = el => (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ')
                         .slice(0, 70);
  const shown = el => el.getClientRects().length > 0;
  const kindOf = el => el.closest('.cell_output') ? 'output'
      : (el.matches('table, .pst-scrollable-table-container') || el.querySelector('table'))
        ? 'table' : 'code';

  // Blocks whose content is wider than their box (they scroll sideways, or spill).
  const blocks = [...article.querySelectorAll(
      'pre, div.cell_output .output.text_html, .pst-scrollable-table-container, table')]
    .filter(el => shown(el) && el.scrollWidth > el.clientWidth + 1)
    .filter(el => !(el.matches('table')
                    && el.closest('.pst-scrollable-table-container, .text_html')))
    .map(el => ({kind: kindOf(el), text: snippet(el), scroll: el.scrollWidth,
                 box: el.clientWidth}));

  // What sticks out of the viewport without a scrolling box around it (outermost only).
  const clipsX = el => ['auto', 'scroll', 'hidden', 'clip']
                         .includes(getComputedStyle(el).overflowX);
  const sticksOut = el => {
    if (el.getBoundingClientRect().right <= innerWidth + 1) return false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (clipsX(a)) return false;
    return true;
  };
  const outside = [...document.body.querySelectorAll('*')].filter(sticksOut);
  const widest = outside.filter(el => !outside.includes(el.parentElement)).slice(0, 6)
    .map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ` +
               `(right edge ${Math.round(el.getBoundingClientRect().right)} px): ${snippet(el)}`);

  const images = [...article.querySelectorAll('img')].filter(shown).map(img => ({
    src: img.currentSrc || img.src,
    alt: img.getAttribute('alt'),
    natural: img.naturalWidth,
    // the width the page declares (attribute or inline style, as myst-nb writes
    // for 2x PNGs): the image's natural CSS width
    widthAttr: parseFloat(img.getAttribute('width')) ||
               (/px$/.test(img.style.width) ? parseFloat(img.style.width) : null),
    shown: img.getBoundingClientRect().width,
  }));

  const text = document.body.innerText;
  const markers = text.split('\n').filter(line => markerRe.test(line))
                      .map(line => line.trim().slice(0, 90));

  // Check verdicts in outputs: each line that starts with an emoji or PASS / FAIL.
  const verdictLine = new RegExp(`^\\s*(${passEmoji}|${failEmoji}|PASS\\b|FAIL\\b)`, 'u');
  const verdicts = [];
  // Folded outputs (solutions) count too: a reader unfolds them.
  for (const pre of article.querySelectorAll('div.cell_output pre')) {
    const lines = pre.textContent.split('\n')
                  .filter(l => verdictLine.test(l));
    if (!lines.length) continue;
    // Do the words PASS and FAIL render as real, different glyphs in this block's font?
    const canvas = document.createElement('canvas');
    canvas.width = 200; canvas.height = 40;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    const draw = word => {
      ctx.clearRect(0, 0, 200, 40);
      ctx.font = getComputedStyle(pre).font;
      ctx.fillStyle = '#000';
      ctx.fillText(word, 4, 28);
      const d = ctx.getImageData(0, 0, 200, 40).data;
      let ink = 0, sig = [];
      for (let i = 3; i < d.length; i += 4) { ink += d[i] > 0; sig.push(d[i] > 127 ? 1 : 0); }
      return {ink, sig: sig.join('')};
    };
    const p = draw('PASS'), f = draw('FAIL');
    verdicts.push({lines: lines.map(l => l.trim().slice(0, 120)), scroll: pre.scrollWidth,
                   box: pre.clientWidth, wordsInked: p.ink > 20 && f.ink > 20,
                   wordsDiffer: p.sig !== f.sig});
  }

  const tables = [...article.querySelectorAll('table')].map(t =>
    [...t.querySelectorAll('tr')].map(tr => [...tr.cells].map(c => c.innerText.trim())));

  return {scrollWidth: document.documentElement.scrollWidth, innerWidth, blocks, widest,
          images, markers, verdicts, tables};
}"""


def screenshot_path(page: str, width: int) -> Path:
    return SCREENSHOT_DIR / str(width) / (page.removesuffix(".html").replace("/", "__") + ".jpg")


class Survey:
    """One tab per width, reused for every page; each page is probed once and cached."""

    def __init__(self, browser, base_url: str) -> None:  # noqa: ANN001 - a Playwright Browser
        self.browser, self.base_url = browser, base_url
        self.tabs: dict[int, object] = {}
        self.cache: dict[tuple[str, int], dict] = {}
        for width in WIDTHS.values():  # no stale picture of a page that is gone
            shutil.rmtree(SCREENSHOT_DIR / str(width), ignore_errors=True)

    def _tab(self, width: int):  # noqa: ANN202
        if width not in self.tabs:
            context = self.browser.new_context(viewport={"width": width, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)

            def offline(route) -> None:  # noqa: ANN001 - the book must render offline
                if urlsplit(route.request.url).hostname == LOCAL_HOST:
                    route.continue_()
                else:
                    route.abort("blockedbyclient")

            context.route("**/*", offline)
            self.tabs[width] = context.new_page()
        return self.tabs[width]

    def __call__(self, page: str, width: int) -> dict:
        if page == NOT_BUILT:
            pytest.fail(f"the book is not built in {HTML_DIR}: make book", pytrace=False)
        if (page, width) not in self.cache:
            tab = self._tab(width)
            tab.goto(urljoin(self.base_url, page), wait_until="load")
            tab.evaluate(SETTLE_JS)
            result = tab.evaluate(PROBE_JS, [PASS_EMOJI, FAIL_EMOJI, MARKERS])
            out = screenshot_path(page, width)
            out.parent.mkdir(parents=True, exist_ok=True)
            # JPEG: a third faster than PNG on the book's long pages, and as legible
            tab.screenshot(path=str(out), full_page=True, type="jpeg", quality=75)
            self.cache[(page, width)] = result
        return self.cache[(page, width)]

    def close(self) -> None:
        for tab in self.tabs.values():
            tab.context.close()


@pytest.fixture(scope="session")
def survey(browser, book_url: str):  # noqa: ANN001, ANN201
    s = Survey(browser, book_url)
    yield s
    s.close()


# --- the measurements ----------------------------------------------------------------------


def wide_blocks_not_allowed(page: str, blocks: list[dict]) -> list[dict]:
    """The blocks that scroll sideways and are not in ``ALLOWED_WIDE``."""
    allowed = [start for (p, start) in ALLOWED_WIDE if p == page]
    return [b for b in blocks if not any(b["text"].startswith(s) for s in allowed)]


def test_allow_list_is_short() -> None:
    assert len(ALLOWED_WIDE) <= MAX_ALLOWED_WIDE, (
        f"{len(ALLOWED_WIDE)} blocks may scroll sideways at 1280 px; the book allows "
        f"{MAX_ALLOWED_WIDE}: make the others fit the column"
    )
    assert all(reason.strip() for reason in ALLOWED_WIDE.values()), "every entry needs a reason"


@pytest.mark.parametrize(
    "page",
    [p for p in FIT_PAGES],
)
def test_code_outputs_and_tables_fit_the_column_at_1280(survey, page: str) -> None:  # noqa: ANN001
    blocks = wide_blocks_not_allowed(page, survey(page, WIDTHS["desktop"])["blocks"])
    report = "\n".join(
        f"  {b['kind']}: {b['scroll']} px of content in a {b['box']} px box: {b['text']!r}"
        for b in blocks
    )
    assert not blocks, (
        f"{page}: {len(blocks)} block(s) scroll sideways at 1280 px (a reader misses their "
        f"right end; code ~79 characters, printed tables <= 80):\n{report}"
    )


@pytest.mark.parametrize("page", PAGES)
def test_page_is_no_wider_than_a_phone(survey, page: str) -> None:  # noqa: ANN001
    r = survey(page, WIDTHS["phone"])
    assert r["scrollWidth"] <= r["innerWidth"], (
        f"{page} is {r['scrollWidth']} px wide on a {r['innerWidth']} px phone; what sticks out "
        "(it should wrap, or scroll inside its own box):\n"
        + "\n".join(f"  {line}" for line in r["widest"])
    )


def declared_min_font_px(png: Path) -> float | None:
    """The smallest font of a figure in pixels at the PNG's own size, if the figure helper
    declared it in a PNG text chunk ``dlbook:min-font-px`` (tEXt or iTXt)."""
    try:
        data = png.read_bytes()
    except OSError:
        return None
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            key, _, value = body.partition(b"\0")
            if key == b"dlbook:min-font-px":
                if kind == b"zTXt":
                    value = zlib.decompress(value[1:])
                elif kind == b"iTXt":  # flags, method, language\0, translated key\0, text
                    value = value[2:].split(b"\0", 2)[-1]
                try:
                    return float(value.decode("latin-1").strip())
                except ValueError:
                    return None
        if kind == b"IEND":
            break
        pos += 12 + length
    return None


def _local_file(src: str) -> Path | None:
    path = unquote(urlsplit(src).path).lstrip("/")
    return HTML_DIR / path if path else None


def image_problems(images: list[dict]) -> list[str]:
    problems = []
    for img in images:
        name = Path(urlsplit(img["src"]).path).name or img["src"][:40]
        alt = (img["alt"] or "").strip()
        if not alt:
            problems.append(f"{name}: no alt text")
        elif FILE_NAME_ALT.search(alt):
            problems.append(f"{name}: the alt text is a file name ({alt!r}); say what it shows")
        natural = img["widthAttr"] or img["natural"]
        if not natural or img["shown"] >= MIN_IMAGE_SCALE * natural - 0.5:
            continue
        scale = img["shown"] / natural
        local = _local_file(img["src"])
        font = declared_min_font_px(local) if local else None
        if font is not None and font * img["shown"] / img["natural"] >= MIN_TEXT_PX:
            continue
        text = (
            f"its smallest text is {font * img['shown'] / img['natural']:.1f} px"
            if font is not None
            else "no smallest font size declared"
        )
        problems.append(
            f"{name}: shown at {img['shown']:.0f} of {natural:.0f} px ({scale:.2f} of its size; "
            f"{text}): size the figure for the column"
        )
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_images_are_legible_and_described(survey, page: str) -> None:  # noqa: ANN001
    problems = image_problems(survey(page, WIDTHS["desktop"])["images"])
    assert not problems, f"{page}: {len(problems)} image problem(s) at 1280 px:\n" + "\n".join(
        f"  {p}" for p in problems
    )


@pytest.mark.parametrize(
    "page",
    PAGES,
)
def test_no_test_markers_are_visible(survey, page: str) -> None:  # noqa: ANN001
    markers = survey(page, WIDTHS["desktop"])["markers"]
    assert not markers, (
        f"{page}: a reader sees test-tool markers (use cell tags, not comments):\n"
        + "\n".join(f"  {line}" for line in markers[:10])
    )


def verdict_problems(verdicts: list[dict]) -> list[str]:
    problems = []
    for v in verdicts:
        for line in v["lines"]:
            words = set(re.findall(r"\b(PASS|FAIL)\b", line))
            if not words:
                problems.append(f"no PASS / FAIL in words, only a symbol: {line!r}")
            elif (
                PASS_EMOJI in line and words != {"PASS"} or FAIL_EMOJI in line and words != {"FAIL"}
            ):
                problems.append(f"the words and the symbol disagree: {line!r}")
        if not (v["wordsInked"] and v["wordsDiffer"]):
            problems.append(f"PASS and FAIL do not render as distinct glyphs: {v['lines'][0]!r}")
        if v["scroll"] > v["box"] + 1:
            problems.append(
                f"the verdict and hint do not wrap ({v['scroll']} px of text in a "
                f"{v['box']} px box): {v['lines'][0]!r}"
            )
    return problems


@pytest.mark.parametrize("width", list(WIDTHS.values()))
@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if p == NOT_BUILT or p.startswith("exercises/")],
)
def test_check_verdicts_read_without_emoji(survey, page: str, width: int) -> None:  # noqa: ANN001
    problems = verdict_problems(survey(page, width)["verdicts"])
    assert not problems, (
        f"{page} at {width} px: the exercise checks' verdicts are not readable in words "
        "(a browser without a colour-emoji font shows the same box for both symbols):\n"
        + "\n".join(f"  {p}" for p in problems)
    )


def book_notebooks() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"file:\s*(\S+)", toc)
    return [f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").is_file()]


def test_execution_statistics_list_every_notebook(survey) -> None:  # noqa: ANN001
    page = "reference/execution_statistics.html"
    assert page in PAGES, f"{page} is not in the built book"
    rows = [row for table in survey(page, WIDTHS["desktop"])["tables"] for row in table]
    seconds = {}
    for row in rows:
        if len(row) >= 2 and re.fullmatch(r"\d+(\.\d+)?", row[1]):
            seconds[row[0]] = float(row[1])
    missing = [nb for nb in book_notebooks() if nb not in seconds]
    assert not missing, (
        f"{page} gives no seconds for {len(missing)} notebook(s): {missing}; run make test "
        "(or tools/exec_stats_page.py --record after it)"
    )


def test_screenshots_of_every_page_at_both_widths(survey) -> None:  # noqa: ANN001
    """Runs last in this module: every page has been photographed at both widths."""
    missing = []
    for page in PAGES:
        for width in WIDTHS.values():
            survey(page, width)
            path = screenshot_path(page, width)
            if not (path.is_file() and path.read_bytes()[:3] == b"\xff\xd8\xff"):
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"{len(missing)} screenshot(s) missing: {missing[:5]}"


# --- the API reference (static: read from the built HTML) -----------------------------------


def api_pages(html_dir: Path = HTML_DIR) -> list[Path]:
    return sorted((html_dir / "reference").glob("api*.html")) + sorted(
        (html_dir / "reference" / "api").glob("*.html")
    )


def test_api_pages_are_small(html_dir: Path) -> None:
    pages = api_pages(html_dir)
    assert len(pages) > 1, "the API reference should be split into one page per package"
    big = {p.relative_to(html_dir).as_posix(): p.stat().st_size // 1024 for p in pages}
    big = {name: kb for name, kb in big.items() if kb * 1024 > API_PAGE_LIMIT}
    assert not big, f"API pages over {API_PAGE_LIMIT // 1024} KB (split them): {big}"


def test_every_public_module_is_documented_once(html_dir: Path) -> None:
    found: dict[str, list[str]] = {}
    for page in api_pages(html_dir):
        for mod in re.findall(r'id="module-(dlbook[\w.]*)"', page.read_text(encoding="utf-8")):
            found.setdefault(mod, []).append(page.name)
    twice = {m: p for m, p in found.items() if len(p) > 1}
    assert not twice, f"modules documented on more than one page: {twice}"
    stale = subprocess.run(
        [sys.executable, str(ROOT / "reference" / "make_api_pages.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert stale.returncode == 0, (
        "the API pages do not match the package (a module or package without a page?); run "
        f".venv/bin/python reference/make_api_pages.py and rebuild:\n{stale.stdout}{stale.stderr}"
    )


_PARAMS = re.compile(r"<dt[^>]*>Parameters<.*?</dd>", re.S)
_PARAM_NAME = re.compile(r"<p><strong>(.*?)</strong>")


@functools.cache
def fake_parameters(html: str) -> list[str]:
    """Names in napoleon's Parameters lists that are not Python names: prose it misread."""
    bad = []
    for block in _PARAMS.findall(html):
        for name in _PARAM_NAME.findall(block):
            plain = re.sub(r"<[^>]+>", "", name)
            if not re.fullmatch(r"\*{0,2}[A-Za-z_]\w*", plain):
                bad.append(plain)
    return bad


def test_checker_finds_fake_parameters() -> None:
    html = (
        '<dl class="field-list"><dt class="field-odd">Parameters<span>:</span></dt>'
        '<dd class="field-odd"><ul><li><p><strong>seed</strong> (int) – one seed</p></li>'
        "<li><p><strong>use.</strong> (Returns a fresh generator)</p></li></ul></dd></dl>"
    )
    assert fake_parameters(html) == ["use."]


def test_napoleon_reads_no_prose_as_parameters(html_dir: Path) -> None:
    bad = {
        p.relative_to(html_dir).as_posix(): found
        for p in api_pages(html_dir)
        if (found := fake_parameters(p.read_text(encoding="utf-8")))
    }
    assert not bad, (
        "napoleon read prose as parameters (a numpy-style 'Parameters' section runs until the "
        "next section header: put 'Returns' / 'Notes' under their own headers):\n"
        + "\n".join(f"  {page}: {names}" for page, names in bad.items())
    )


# --- the probes themselves, on a synthetic page ---------------------------------------------

SYNTHETIC = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<style>body {{ margin: 0; font-family: sans-serif }} pre {{ overflow-x: auto }}</style></head>
<body><article class="bd-article">
<div class="cell_input"><pre>{"x = 1  # " + "a" * 200}</pre></div>
<div class="cell_output"><pre>short output</pre></div>
<div class="cell_output"><pre>{FAIL_EMOJI} softmax: wrong axis.
   Hint: sum over the last axis.</pre></div>
<div class="cell_output"><pre>PASS {PASS_EMOJI} softmax: correct on 5 test cases.</pre></div>
<p>a visible # NBVAL_IGNORE_OUTPUT comment</p>
<p><code>{"dlbook.attention.numpy_backend." * 4}</code></p>
<img alt="../_images/plot.png" width="700" style="width: 350px"
     src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</article></body></html>"""


def test_probe_catches_what_it_should(browser) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 390, "height": 900})
    try:
        tab = context.new_page()
        tab.set_content(SYNTHETIC)
        r = tab.evaluate(PROBE_JS, [PASS_EMOJI, FAIL_EMOJI, MARKERS])
    finally:
        context.close()
    assert [b["kind"] for b in r["blocks"]] == ["code"]
    assert r["scrollWidth"] > r["innerWidth"] and any("code" in w for w in r["widest"])
    assert r["markers"] == ["a visible # NBVAL_IGNORE_OUTPUT comment"]
    problems = verdict_problems(r["verdicts"])
    assert len(r["verdicts"]) == 2 and len(problems) == 1 and "only a symbol" in problems[0]
    assert r["verdicts"][1]["wordsInked"] and r["verdicts"][1]["wordsDiffer"]
    img_problems = image_problems(r["images"])
    assert len(img_problems) == 2, img_problems
    assert "file name" in img_problems[0] and "size the figure" in img_problems[1]


# Packages whose overview derives its maths in LaTeX (``.. math::`` / ``:math:``):
# their API pages must show typeset equations, not TeX source.
API_MATH_PAGES = ("alignment", "attention", "normalization", "optim")


@pytest.mark.parametrize("package", API_MATH_PAGES)
def test_api_pages_render_docstring_math(html_dir: Path, package: str) -> None:
    page = html_dir / "reference" / "api" / f"{package}.html"
    html = page.read_text(encoding="utf-8")
    typeset = re.findall(r'class="math[^"]*"', html)
    assert len(typeset) >= 3, (
        f"{page.name}: {len(typeset)} math node(s); write the equations of dlbook.{package}'s "
        "docstrings as .. math:: blocks or :math:`...` roles"
    )
    raw = re.findall(
        r"\\(?:frac|sqrt|sum|sigma|beta)\b",
        re.sub(r'<span class="math.*?</span>|<div class="math.*?</div>', "", html, flags=re.S),
    )
    assert not raw, f"{page.name}: TeX shown as text outside math: {raw[:5]}"
