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

from . import BUILD_FIRST, HTML_DIR, book_is_built


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
