"""Run a function in fresh Python processes, collect what they return, leave nothing behind.

:func:`run_processes` is the one launcher of the chapter: the PyTorch backend
starts its ranks with it (:func:`dlbook.parallel.torch_backend.run_distributed`),
and the TensorFlow backend its fresh interpreter for ``MirroredStrategy``.

How it works, and why it is not ``multiprocessing``:

1. ``fn`` and its arguments are pickled into a temporary folder. ``fn`` must be
   importable (defined at the top level of a module), as for ``multiprocessing``.
2. ``world_size`` children ``python -c "... _child_main(...)"`` start with
   :class:`subprocess.Popen`; child r calls ``fn(r, world_size, *args)`` and
   pickles its result (or its traceback) into the folder. Their output goes to a
   log file per rank, shown if anything fails.
3. The parent polls them until all have exited, one has failed, or ``timeout``
   seconds have passed; in a ``finally`` block every child still alive is killed
   and reaped, and the folder is deleted.

``multiprocessing``'s spawn start method would also start a *resource tracker*
process that outlives the call; plain subprocesses leave no process behind,
which the tests check with ``psutil``.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlbook.parallel._checks import positive_int

_CHILD = "import sys; from dlbook.parallel.launch import _child_main; _child_main(*sys.argv[1:])"


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_main(job: str, rank: str, world_size: str) -> None:
    """In a child: run the pickled job as ``rank`` and pickle ("ok", result) or ("error", tb)."""
    out = Path(job).with_name(f"result{rank}.pkl")
    try:
        fn, args = pickle.loads(Path(job).read_bytes())
        payload = ("ok", fn(int(rank), int(world_size), *args))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        payload = ("error", traceback.format_exc())
    out.write_bytes(pickle.dumps(payload))
    sys.exit(0 if payload[0] == "ok" else 1)


def _check(fn: Callable, world_size: int, timeout: float) -> None:
    if not callable(fn) or "<" in getattr(fn, "__qualname__", "<"):  # <lambda>, <locals>
        raise TypeError(
            "fn must be a function defined at the top level of an importable module (the child "
            f"processes import it by name), got {fn!r:.80}."
        )
    positive_int(world_size, "world_size", " (processes to start)")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    """The parent's environment, with dlbook importable and ``extra`` added."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the folder that holds the dlbook package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def _wait(procs: list[subprocess.Popen], timeout: float) -> None:
    """Until all exit (return), one fails (return early) or the deadline passes (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]
        if all(c is not None for c in codes) or any(c not in (None, 0) for c in codes):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the {len(procs)} process(es) did not finish within {timeout:.0f} s; they were "
                "killed. A rank waiting forever for a collective that another rank never calls "
                "is the usual cause."
            )
        time.sleep(0.02)


def _results(folder: Path, procs: list[subprocess.Popen]) -> list[Any]:
    """Each rank's result; the first traceback, or the output of a rank that left none, raises."""
    paths = [folder / f"result{rank}.pkl" for rank in range(len(procs))]
    payloads = [pickle.loads(p.read_bytes()) if p.exists() else None for p in paths]
    for rank, payload in enumerate(payloads):
        if payload is not None and payload[0] == "error":
            raise RuntimeError(f"rank {rank} raised an exception:\n{payload[1]}")
    for rank, payload in enumerate(payloads):
        if payload is None:
            log = (folder / f"rank{rank}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"rank {rank} exited with code {procs[rank].returncode} and left no result "
                f"(it crashed, or was killed after another rank failed). Its output:\n{log}"
            )
    return [payload[1] for payload in payloads]


def run_processes(
    fn: Callable[..., Any],
    world_size: int,
    args: tuple = (),
    *,
    timeout: float = 120.0,
    env: dict[str, str] | None = None,
) -> list[Any]:
    """``[fn(r, world_size, *args) for r in range(world_size)]``, each rank in a fresh process.

    Raises ``RuntimeError`` with the child's traceback if a rank fails, and
    ``TimeoutError`` after ``timeout`` seconds; either way no child survives.
    """
    _check(fn, world_size, timeout)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="dlbook-launch-") as tmp:
        folder = Path(tmp)
        job = folder / "job.pkl"
        job.write_bytes(pickle.dumps((fn, tuple(args))))
        try:
            for rank in range(world_size):
                with open(folder / f"rank{rank}.log", "wb") as log:
                    cmd = [sys.executable, "-c", _CHILD, str(job), str(rank), str(world_size)]
                    proc = subprocess.Popen(
                        cmd,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=_env(env),
                    )
                procs.append(proc)
            _wait(procs, timeout)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        return _results(folder, procs)
