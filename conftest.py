"""Repository-wide pytest hooks.

* Timing of every notebook that nbval executes: written to
  ``_build/exec_stats.json`` (read by the execution-statistics page), and a
  notebook over its budget fails the run.
* ``--run-gpu-only`` style switches are not needed: tests that want CUDA skip
  themselves when it is absent.
"""

from __future__ import annotations

import json
import os
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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    nb = _notebook_of(report.nodeid)
    if nb is None:
        return
    _durations[nb] += report.duration
    _failed[nb] |= report.failed


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _durations:
        return
    root = Path(str(session.config.rootpath))
    out = root / "_build" / "exec_stats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    stats = {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cores": os.cpu_count(),
        "budget_s": NOTEBOOK_BUDGET_S,
        "notebooks": {
            nb: {"seconds": round(s, 1), "status": "failed" if _failed[nb] else "passed"}
            for nb, s in sorted(_durations.items())
        },
    }
    out.write_text(json.dumps(stats, indent=2))
    slow = {nb: s for nb, s in _durations.items() if s > NOTEBOOK_BUDGET_S}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "notebook execution times")
        for nb, s in sorted(_durations.items()):
            flag = "  OVER BUDGET" if nb in slow else ""
            reporter.write_line(f"{s:7.1f} s  {nb}{flag}")
    if slow and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
