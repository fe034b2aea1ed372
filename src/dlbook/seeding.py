"""One helper seeds everything a chapter uses, and pins its thread counts.

Package functions never touch global random state: they take an ``rng`` or a
``seed``. Notebooks call :func:`seed_everything` once, in their first cell, so
that what they print is the same on every run *and on every machine*: a float
sum split over 2 threads rounds differently from the same sum on 1 thread, so
the thread counts of PyTorch, TensorFlow and NumPy's BLAS are pinned too
(:func:`pin_threads`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy ``Generator``: a new one from an int seed, or the one given.

    ``None`` is refused: a silently unseeded generator makes a result impossible
    to reproduce, which is exactly what this book tries never to do.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"Expected an int seed or a numpy.random.Generator, got {type(seed).__name__}. "
            "Pass e.g. seed=0, or rng=np.random.default_rng(0)."
        )
    if seed < 0:
        raise ValueError(f"A seed must be a non-negative integer, got {seed}.")
    return np.random.default_rng(int(seed))


def seed_everything(
    seed: int = 0, *, deterministic: bool = True, threads: int | None = 1
) -> np.random.Generator:
    """Seed Python, NumPy, and (if already imported or installed) PyTorch and TensorFlow.

    Parameters
    ----------
    seed : int
        The one seed of the chapter.
    deterministic : bool
        Also switch the frameworks to deterministic kernels:
        ``torch.use_deterministic_algorithms(True)`` and
        ``tf.config.experimental.enable_op_determinism()``.
    threads : int or None
        Pin PyTorch, TensorFlow and NumPy's BLAS to this many threads
        (:func:`pin_threads`), so that printed numbers do not depend on the
        number of cores; ``None`` leaves the thread counts alone.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for the chapter's own use.

    Notes
    -----
    This is the one place in dlbook that sets global random state, on purpose.
    """
    rng = make_rng(seed)
    if threads is not None:
        _check_threads(threads)
    random.seed(seed)
    np.random.seed(seed)  # legacy global state, for third-party code that uses it
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only
    torch, tf = _import_installed_frameworks()
    if threads is not None:  # after the imports (they load BLAS libraries), before any op
        pin_threads(threads)
    if torch is not None:
        _seed_torch(torch, seed, deterministic)
    if tf is not None:
        _seed_tensorflow(tf, seed, deterministic)
    return rng


def _check_threads(threads: object) -> int:
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        raise TypeError(
            f"threads must be a positive int (or None to leave the thread counts alone), "
            f"got {type(threads).__name__}."
        )
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}.")
    return int(threads)


def pin_threads(threads: int = 1) -> dict[str, int | None]:
    """Run PyTorch, TensorFlow and NumPy's BLAS on ``threads`` threads each.

    A matrix product summed by 2 threads adds its terms in another order than
    the same product on 1 thread, so its last digits differ: a chapter that
    pins its threads prints the same numbers on a laptop and on a 64-core
    server. Tiny models are also faster on one thread, which never waits for
    another. What is pinned:

    - PyTorch intra-op threads (``torch.set_num_threads``);
    - TensorFlow intra-op threads, while TF has not run an op yet (TF fixes
      its thread pools at its first op; afterwards they stay);
    - the BLAS (OpenBLAS, MKL) and OpenMP libraries loaded so far, NumPy's
      among them, through ``threadpoolctl``.

    Frameworks that are not imported yet are skipped (:func:`seed_everything`
    imports the installed ones first). Returns the previous counts,
    ``{"torch": 2, "blas": 2}`` (``None`` where unknown).
    """
    threads = _check_threads(threads)
    before: dict[str, int | None] = {"torch": None, "blas": _blas_threads()}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        before["torch"] = torch.get_num_threads()
        torch.set_num_threads(threads)
    # Inter-op pools only run independent ops side by side: they change no
    # number, and a TF inter-op pool of 1 thread can deadlock ops that wait on
    # each other, so they are left alone.
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        with contextlib.suppress(RuntimeError):  # TF has run an op: pools are fixed
            tf.config.threading.set_intra_op_parallelism_threads(threads)
    _limit_native_threads(threads)
    return before


def _blas_threads() -> int | None:
    """The largest thread count of the BLAS libraries loaded so far (None if unknown)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=None)


def _limit_native_threads(threads: int) -> Any:
    """Limit every loaded BLAS and OpenMP library; return threadpoolctl's limiter (or None)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return None
    return threadpool_limits(limits=threads)


@contextlib.contextmanager
def threads_pinned(threads: int = 1) -> Iterator[None]:
    """Pin PyTorch, BLAS and OpenMP to ``threads`` threads for one block, then restore them.

    TensorFlow's pools cannot change once it has run an op, so TF keeps
    whatever :func:`seed_everything` pinned at the start of the chapter::

        with threads_pinned(1):
            losses = train(model, steps=200)
    """
    threads = _check_threads(threads)
    torch = sys.modules.get("torch")
    saved = torch.get_num_threads() if torch is not None else None
    limiter = _limit_native_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        if torch is not None:
            torch.set_num_threads(saved)


def _import_installed_frameworks() -> tuple[ModuleType | None, ModuleType | None]:
    """Import PyTorch and TensorFlow if they are installed; ``None`` for a missing one."""
    from dlbook._lazy import import_tensorflow, import_torch

    found = []
    for name, load in (("torch", import_torch), ("tensorflow", import_tensorflow)):
        try:
            installed = name in sys.modules or importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            installed = False
        found.append(load() if installed else None)
    return found[0], found[1]


def _seed_torch(torch: ModuleType, seed: int, deterministic: bool) -> None:
    torch.manual_seed(seed)  # seeds CPU and every CUDA device
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matmuls on GPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def _seed_tensorflow(tf: ModuleType, seed: int, deterministic: bool) -> None:
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
