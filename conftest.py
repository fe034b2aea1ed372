"""Repository-wide pytest hooks.

* Timing of every notebook that nbval executes: written to
  ``_build/exec_stats.json`` (read by ``tools/exec_stats_page.py``, which builds
  the execution-statistics page), and a notebook over its budget fails the run.
  Each notebook's entry says when and on what machine it was measured; a run of
  a few notebooks updates their entries and keeps the others.
  ``tools/exec_stats_page.py --record`` copies the result into the committed
  record ``reference/exec_stats.json``.
* ``--run-gpu-only`` style switches are not needed: tests that want CUDA skip
  themselves when it is absent.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import pytest

NOTEBOOK_BUDGET_S = float(os.environ.get("DLBOOK_NOTEBOOK_BUDGET_S", "90"))
_durations: dict[str, float] = defaultdict(float)
_failed: dict[str, bool] = defaultdict(bool)


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def machine_description() -> str:
    """CPU model, architecture and the cores this process may use, e.g.
    ``"Intel(R) Xeon(R) CPU @ 2.20GHz (x86_64), 2 cores"``."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    model = model or platform.processor() or platform.system()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return f"{model} ({platform.machine()}), {cores} core{'s' if cores != 1 else ''}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    nb = _notebook_of(report.nodeid)
    if nb is None:
        return
    _durations[nb] += report.duration
    _failed[nb] |= report.failed


def _write_stats(out: Path) -> None:
    """Update ``out`` with this session's notebooks; entries of other notebooks stay."""
    try:
        old = json.loads(out.read_text()).get("notebooks", {}) if out.exists() else {}
    except (json.JSONDecodeError, AttributeError):
        old = {}
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = machine_description()
    notebooks = {nb: entry for nb, entry in old.items() if isinstance(entry, dict)}
    for nb, seconds in _durations.items():
        notebooks[nb] = {
            "seconds": round(seconds, 1),
            "status": "failed" if _failed[nb] else "passed",
            "recorded": now,
            "machine": machine,
        }
    stats = {
        "format": 2,
        "budget_s": NOTEBOOK_BUDGET_S,
        "updated": now,
        "notebooks": dict(sorted(notebooks.items())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stats, indent=2) + "\n")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _durations:
        return
    root = Path(str(session.config.rootpath))
    _write_stats(root / "_build" / "exec_stats.json")
    slow = {nb: s for nb, s in _durations.items() if s > NOTEBOOK_BUDGET_S}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "notebook execution times")
        for nb, s in sorted(_durations.items()):
            flag = "  OVER BUDGET" if nb in slow else ""
            reporter.write_line(f"{s:7.1f} s  {nb}{flag}")
        reporter.write_line(
            "recorded in _build/exec_stats.json; to keep it as the book's record: "
            ".venv/bin/python tools/exec_stats_page.py --record"
        )
    if slow and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
