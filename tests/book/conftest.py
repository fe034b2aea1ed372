"""Fixtures for the tests of the built book: where it is, and a local web server for it.

The book must already be built (``make book``); a missing build fails every test here
instead of skipping it, so CI cannot pass without having looked at the book.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from . import BUILD_FIRST, CHROMIUM, CHROMIUM_ARGS, HTML_DIR, book_is_built

try:
    from playwright.sync_api import Browser, sync_playwright
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the browser tests need the playwright package: .venv/bin/pip install -r requirements.txt"
        " (it drives the system Chromium; no browser download is needed)"
    ) from err


@pytest.fixture(scope="session")
def html_dir() -> Path:
    """The built HTML book, ``_build/html``."""
    if not book_is_built(HTML_DIR):
        pytest.fail(f"{HTML_DIR / 'index.html'} is missing; {BUILD_FIRST}", pytrace=False)
    return HTML_DIR


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to the test output."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class _BookServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A browser that cancels a download closes its socket early; that is not a test failure.
        pass


@pytest.fixture(scope="session")
def book_url(html_dir: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT/``: the built book, served from a background thread.

    It listens on 127.0.0.1 only, on a port the OS picks, and is shut down at session end.
    """
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = _BookServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(book_url: str) -> Iterator[Browser]:
    """One headless Chromium for the whole session, closed at the end."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: apt-get install chromium, or set DLBOOK_CHROMIUM",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()
