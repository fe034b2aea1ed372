"""The launcher: results by rank, tracebacks from children, timeouts, nothing left behind."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlbook.parallel.launch import find_free_port, run_processes
from tests.parallel import leftover_processes

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}  # children import tests


def rank_and_square(rank: int, world_size: int, base: int) -> tuple[int, int, int]:
    return rank, world_size, base + rank * rank


def sleep_forever(rank: int, world_size: int) -> None:
    time.sleep(600)


def test_results_come_back_in_rank_order() -> None:
    out = run_processes(rank_and_square, 3, (10,), env=ENV)
    assert out == [(0, 3, 10), (1, 3, 11), (2, 3, 14)]
    assert leftover_processes() == []


def test_a_failing_rank_raises_its_traceback() -> None:
    with pytest.raises(RuntimeError, match="math domain error"):
        run_processes(math.log, 2, ())  # rank 0: log(0, 2) fails
    assert leftover_processes() == []


def test_timeout_kills_every_child() -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish"):
        run_processes(sleep_forever, 2, (), timeout=1.5, env=ENV)
    assert time.monotonic() - start < 30
    assert leftover_processes() == []


def test_bad_arguments_explain_themselves() -> None:
    with pytest.raises(TypeError, match="top level"):
        run_processes(lambda r, w: r, 2)
    with pytest.raises(ValueError, match="world_size"):
        run_processes(rank_and_square, 0)
    with pytest.raises(ValueError, match="timeout"):
        run_processes(rank_and_square, 1, (0,), timeout=0)


def test_free_port_is_on_loopback_and_free() -> None:
    port = find_free_port()
    assert 1024 <= port < 65536
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_a_process_left_running_is_noticed() -> None:
    """The check above can fail: a launcher-style child still running is listed, then gone."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # _child_main"])
    try:
        assert [p.pid for p in leftover_processes()] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert leftover_processes() == []
