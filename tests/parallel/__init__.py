"""Tests of dlbook.parallel, and the check that its launcher leaves no process behind."""

from __future__ import annotations

import psutil


def _launched(proc: psutil.Process) -> bool:
    """Started by :func:`dlbook.parallel.launch.run_processes` (its command runs ``_child_main``),
    or already a zombie: a child that ended but was never reaped is left behind too."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE or "_child_main" in " ".join(proc.cmdline())
    except psutil.NoSuchProcess:
        return False


def leftover_processes() -> list[psutil.Process]:
    """Processes that dlbook's launcher started from this one and that still exist.

    Not simply "every child": in one pytest session other suites keep helpers of
    their own alive (the book tests serve the HTML from a child process).
    """
    ours = [p for p in psutil.Process().children() if _launched(p)]
    return ours + [d for p in ours for d in p.children(recursive=True)]
