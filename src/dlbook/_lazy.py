"""Lazy, quiet imports of the heavy frameworks.

``import dlbook`` must stay light: PyTorch and TensorFlow are imported only when
a backend is first used, through :func:`import_torch` and :func:`import_tensorflow`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType


@contextlib.contextmanager
def _silence_fd2() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's C++ runtime writes start-up chatter ("could not find cuda
    drivers", absl banners) straight to fd 2, below Python's ``sys.stderr``.
    In a notebook that chatter lands in the stored outputs, which nbval compares.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _missing(name: str, pip_name: str) -> ImportError:
    return ImportError(
        f"This part of dlbook needs {name}, which is not installed in this Python "
        f"environment. Install the book's pinned set with `make venv` (or "
        f"`pip install -r requirements.txt`), or just `pip install {pip_name}`."
    )


def import_torch() -> ModuleType:
    """Import and return :mod:`torch`, with a learner-friendly error if it is missing."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover - exercised by the doctor tests
        raise _missing("PyTorch", "torch==2.13.0") from err
    return torch


def import_tensorflow() -> ModuleType:
    """Import and return :mod:`tensorflow`, quietly and in float64-friendly mode.

    Sets, only if the user has not chosen otherwise:
    ``TF_CPP_MIN_LOG_LEVEL=3`` (no C++ info logs) and ``TF_ENABLE_ONEDNN_OPTS=0``
    (oneDNN reorders float sums, which breaks bit-for-bit reproducibility).
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _silence_fd2():
            import tensorflow as tf
    except ImportError as err:  # pragma: no cover
        raise _missing("TensorFlow", "tensorflow==2.21.0") from err
    return tf
