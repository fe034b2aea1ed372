"""NumPy code runs in the reader's browser, with every other host blocked.

`make book` bundles Pyodide, the wasm wheels of NumPy, SciPy, scikit-learn and matplotlib,
and dlbook's own pure-Python wheel into ``_build/html/_lite`` (tools/build_lite.py). Here
headless Chromium opens chapter 1 and its exercises from 127.0.0.1 with every request
for another host aborted (and counted as a failure), clicks "Run in the page" on a NumPy
cell and on an exercise check, and compares what is printed in the page with what the
notebook stored. The time to the first result and the size of the runtime are written to
``_build/lite_timings.json``.
"""

from __future__ import annotations

import importlib.util
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from . import ROOT

try:
    from playwright.sync_api import Browser, Page, Route
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("the browser tests need playwright: pip install -r requirements.txt") from err

pytestmark = pytest.mark.timeout(600)

LOCAL_HOST = "127.0.0.1"
START_MS = 300_000  # starting Pyodide and loading ~50 MB on a busy 2-core machine
CELL_MS = 120_000
TIMINGS = ROOT / "_build" / "lite_timings.json"
CHAPTER = "chapters/01_backprop.html"
EXERCISES = "exercises/01_backprop.html"
NEURON_CELL = "nn_np.linear(x, W, b)"  # chapter 1's first NumPy cell
NEURON_PRINTS = "z = [-1.25 -0.75]   a = sigmoid(z) = [0.2227 0.3208]"
RIGHT = """def sigmoid_backward(x, grad_out):
    s = 1 / (1 + np.exp(-x))
    return grad_out * s * (1 - s)
"""
WRONG_SIGN = """def sigmoid_backward(x, grad_out):
    s = 1 / (1 + np.exp(-x))
    return -grad_out * s * (1 - s)
"""
_timings: dict[str, float] = {}


class OfflinePage:
    """A page whose requests to any host but 127.0.0.1 are aborted and recorded."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(CELL_MS)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.base_url = base_url

    def _route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def open(self, rel: str) -> float:
        start = time.perf_counter()
        self.page.goto(self.base_url + rel, wait_until="load")
        self.page.wait_for_function(
            "() => window.dlbookLite && window.dlbookLite.state.cells.length"
        )
        return start

    def cell_index(self, text: str) -> int:
        index = self.page.evaluate(
            "(t) => window.dlbookLite.state.cells.findIndex(c => c.pre.innerText.includes(t))", text
        )
        assert index >= 0, f"no cell containing {text!r} on {self.page.url}"
        return index

    def set_code(self, index: int, code: str) -> None:
        self.page.evaluate("([i, c]) => { window.dlbookLite.state.cells[i].pre.innerText = c; }",
                           [index, code])  # fmt: skip

    def run(self, index: int, timeout_ms: int = CELL_MS) -> str:
        """Click the cell's Run button; return what the page printed under the cell."""
        cell = self.page.locator("div.cell[data-lite-kind]").nth(index)
        cell.locator("button.dlbook-lite-run").click()
        cell.locator(".dlbook-lite-output").wait_for(timeout=timeout_ms)
        self.page.wait_for_function(
            "(i) => window.dlbookLite.state.cells[i].element.dataset.liteRan", arg=index,
            timeout=timeout_ms,
        )  # fmt: skip
        return cell.locator(".dlbook-lite-output").inner_text()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def offline(browser: Browser, book_url: str, html_dir: Path) -> Iterator[OfflinePage]:
    if not (html_dir / "_lite" / "manifest.json").is_file():
        pytest.fail("no in-browser runtime in the book: `make book` runs tools/build_lite.py")
    page = OfflinePage(browser, book_url)
    try:
        yield page
        assert not page.blocked, f"the page asked another host for {page.blocked[:5]}"
        assert not page.errors, f"uncaught errors in the page: {page.errors[:3]}"
    finally:
        page.close()


def test_runtime_is_bundled_and_small_enough(html_dir: Path) -> None:
    manifest = json.loads((html_dir / "_lite" / "manifest.json").read_text())
    assert {"numpy", "scipy", "scikit-learn", "matplotlib"} <= set(manifest["packages"])
    for rel in ["pyodide/pyodide.js", "pyodide/pyodide.asm.wasm", *manifest["wheels"]]:
        assert (html_dir / "_lite" / rel).is_file(), rel
    assert any(w.startswith("wheels/dlbook-") for w in manifest["wheels"])
    assert manifest["bytes"] < 80e6, "the runtime grew past 80 MB"
    _timings["bundle_mb"] = round(manifest["bytes"] / 1e6, 1)
    page = (html_dir / CHAPTER).read_text(encoding="utf-8")
    assert 'data-dlbook-lite="../_lite/"' in page


def test_a_numpy_cell_of_chapter_1_runs_in_the_page(offline: OfflinePage) -> None:
    start = offline.open(CHAPTER)
    kinds = offline.page.evaluate("() => window.dlbookLite.state.cells.map(c => c.kind)")
    assert kinds[0] == "setup" and "framework" in kinds and kinds.count("numpy") >= 10
    framework = offline.page.locator('div.cell[data-lite-kind="framework"]')
    assert framework.first.locator("button.dlbook-lite-run").count() == 0, (
        "no Run button on a PyTorch cell"
    )
    index = offline.cell_index(NEURON_CELL)
    printed = offline.run(index, timeout_ms=START_MS)
    _timings["chapter_first_result_s"] = round(time.perf_counter() - start, 1)
    assert printed.strip() == NEURON_PRINTS
    stored = offline.page.locator("div.cell[data-lite-kind]").nth(index).locator(".cell_output")
    assert stored.inner_text().strip() == printed.strip(), (
        "the page prints what the notebook stored"
    )
    setup = offline.page.locator("div.cell[data-lite-kind]").first.locator(".dlbook-lite-output")
    assert "In the page (Pyodide): python 3.12" in setup.inner_text()
    load = offline.page.evaluate("() => window.dlbookLite.state.loadSeconds")
    _timings["chapter_runtime_start_s"] = round(load, 1)


def test_an_exercise_check_runs_in_the_page(offline: OfflinePage) -> None:
    start = offline.open(EXERCISES)
    definition = offline.cell_index("def sigmoid_backward")
    check = offline.cell_index("check_sigmoid_backward(sigmoid_backward)")
    offline.set_code(definition, RIGHT)
    printed = offline.run(check, timeout_ms=START_MS)
    _timings["exercise_first_result_s"] = round(time.perf_counter() - start, 1)
    assert "PASS ✅ sigmoid_backward: correct on 4 test cases." in printed
    offline.set_code(definition, WRONG_SIGN)
    offline.run(definition)
    printed = offline.run(check)
    assert "FAIL ❌ sigmoid_backward: your gradient has the wrong sign" in printed
    setup = offline.page.locator("div.cell[data-lite-kind]").first.locator(".dlbook-lite-output")
    assert setup.inner_text().startswith("dlbook 0.1.0 | numpy 2.")


def test_dist_zip_holds_the_book_the_runtime_and_the_wheel(html_dir: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_lite", ROOT / "tools" / "build_lite.py")
    build_lite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_lite)
    archive = build_lite.dist(html_dir, tmp_path)
    names = set(zipfile.ZipFile(archive).namelist())
    folder = archive.stem
    wheels = [n for n in names if "/" not in n and n.endswith("-py3-none-any.whl")]
    assert len(wheels) == 1 and (tmp_path / wheels[0]).is_file()
    for rel in ["index.html", CHAPTER, "_lite/pyodide/pyodide.asm.wasm", "_lite/manifest.json"]:
        assert f"{folder}/{rel}" in names, rel
    readme = zipfile.ZipFile(archive).read("README.txt").decode()
    assert f"python -m http.server --directory {folder}" in readme


def test_record_timings() -> None:
    """Not a check: writes the numbers the tests above measured."""
    if _timings:
        TIMINGS.parent.mkdir(exist_ok=True)
        TIMINGS.write_text(json.dumps(_timings, indent=1))
    assert all(v > 0 for v in _timings.values())
