"""One helper seeds everything a chapter uses.

Package functions never touch global random state: they take an ``rng`` or a
``seed``. Notebooks call :func:`seed_everything` once, in their first cell, so
that what they print is the same on every run.
"""

from __future__ import annotations

import os
import random
import sys

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


def seed_everything(seed: int = 0, *, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy, and (if already imported or installed) PyTorch and TensorFlow.

    Parameters
    ----------
    seed:
        The one seed of the chapter.
    deterministic:
        Also switch the frameworks to deterministic kernels:
        ``torch.use_deterministic_algorithms(True)`` and
        ``tf.config.experimental.enable_op_determinism()``.

    Returns a fresh ``np.random.Generator`` seeded with ``seed`` for the chapter's own use.
    This is the one place in dlbook that sets global random state, on purpose.
    """
    rng = make_rng(seed)
    random.seed(seed)
    np.random.seed(seed)  # legacy global state, for third-party code that uses it
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only
    _seed_torch(seed, deterministic)
    _seed_tensorflow(seed, deterministic)
    return rng


def _seed_torch(seed: int, deterministic: bool) -> None:
    try:
        from dlbook._lazy import import_torch

        torch = import_torch()
    except ImportError:
        return
    torch.manual_seed(seed)  # seeds CPU and every CUDA device
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matmuls on GPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def _seed_tensorflow(seed: int, deterministic: bool) -> None:
    if "tensorflow" not in sys.modules:
        try:  # only import TF if it is installed; seeding must not fail without it
            import importlib.util

            if importlib.util.find_spec("tensorflow") is None:
                return
        except (ImportError, ValueError):
            return
    from dlbook._lazy import import_tensorflow

    tf = import_tensorflow()
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
