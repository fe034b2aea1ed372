"""A pytest plugin for a Python that has dlbook's NumPy stack but not PyTorch or TensorFlow.

`.ci/run` runs the unit tests a second time on Python 3.12, where the pinned torch
(a CPU wheel on disk for 3.11 only) and tensorflow are not installed. There, a
test module that imports a framework, or a test whose code path imports one,
is reported as *skipped* with the reason, instead of as an error:

    PYTHONPATH=tools python -m pytest -p pytest_without_frameworks tests --ignore=tests/book

Anything else that fails still fails. The plugin refuses to load when a framework
*is* importable, so it can never hide a real failure on the full set-up.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest

FRAMEWORKS = ("torch", "tensorflow", "keras")
# A failure that says a framework is missing: Python's ModuleNotFoundError, dlbook's own
# message (dlbook._lazy._missing), importlib.metadata, or the doctor's table.
_MISSING = re.compile(
    r"No module named '(?P<a>torch|tensorflow|keras)[.']"
    r"|needs (?P<b>PyTorch|TensorFlow), which is not installed"
    r"|No package metadata was found for (?P<c>torch|tensorflow)\b"
    r"|\b(?P<d>torch|tensorflow) is not installed"
)
# A subprocess that imports a framework (tests that check a fresh interpreter).
_IMPORTS = re.compile(r"\bimport (?P<a>torch|tensorflow)\b|\.(?P<b>torch|tensorflow)_backend\b")


def missing_framework(text: str) -> str | None:
    """The framework a failure text says is missing, or None."""
    match = _MISSING.search(text)
    return None if match is None else next(v for v in match.groupdict().values() if v)


def _subprocess_framework(error: BaseException) -> str | None:
    """The framework that a failed subprocess imported, or None."""
    if not isinstance(error, subprocess.CalledProcessError):
        return None
    match = _IMPORTS.search(
        " ".join(map(str, error.cmd)) if isinstance(error.cmd, list) else str(error.cmd)
    )
    return None if match is None else (match["a"] or match["b"])


def pytest_configure(config: pytest.Config) -> None:
    present = [name for name in FRAMEWORKS[:2] if importlib.util.find_spec(name) is not None]
    if present:
        raise pytest.UsageError(
            f"pytest_without_frameworks is for a Python without torch/tensorflow, "
            f"but {', '.join(present)} is installed: run without `-p pytest_without_frameworks`."
        )
    config.addinivalue_line("markers", "needs_framework: skipped, a framework is missing")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if report.failed and (name := missing_framework(str(report.longrepr))):
        report.outcome = "skipped"
        report.longrepr = (str(collector.path), 0, f"Skipped: imports {name}, not installed here")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or not report.failed:
        return
    error = call.excinfo.value
    name = _subprocess_framework(error) or missing_framework(
        f"{type(error).__name__}: {error} {error.__cause__ or ''} {report.longreprtext}"
    )
    if name:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), 0, f"Skipped: needs {name}, not installed here")
