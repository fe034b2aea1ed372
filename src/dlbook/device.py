"""Device selection: CUDA when present, otherwise the CPU.

Every chapter runs on a laptop CPU; the same notebooks run unchanged on a GPU
runner (``make test-gpu``). Set ``DLBOOK_DEVICE=cpu`` to force the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def device_name(backend: str = "torch") -> str:
    """Return ``"cuda"`` or ``"cpu"`` for the torch backend, ``"GPU"`` or ``"CPU"`` for TF."""
    from dlbook.backends import check_backend

    name = check_backend(backend)
    forced = os.environ.get("DLBOOK_DEVICE", "").lower()
    if name == "numpy" or forced == "cpu":
        return "cpu" if name != "tensorflow" else "CPU"
    if name == "torch":
        from dlbook._lazy import import_torch

        return "cuda" if import_torch().cuda.is_available() else "cpu"
    from dlbook._lazy import import_tensorflow

    return "GPU" if import_tensorflow().config.list_physical_devices("GPU") else "CPU"


def get_device() -> Any:
    """Return the ``torch.device`` that chapters use: CUDA when present, else CPU."""
    from dlbook._lazy import import_torch

    return import_torch().device(device_name("torch"))


@contextmanager
def on_cpu(threads: int | None = None) -> Iterator[None]:
    """Run a block on the CPU (with ``threads`` threads if given), then restore both.

    A result that must reproduce a shipped data file bit for bit (chapter 8's scaling
    ladder) depends on the device and on the number of threads that sum each matrix
    product, not only on the seed::

        with on_cpu(threads=1):
            rerun = train_rung(config, train_ids, val_ids)

    The threads are pinned by :func:`dlbook.seeding.threads_pinned` (PyTorch and
    NumPy's BLAS), the same helper that :func:`dlbook.seed_everything` uses.
    """
    from dlbook.seeding import threads_pinned

    saved_device = os.environ.get("DLBOOK_DEVICE")
    os.environ["DLBOOK_DEVICE"] = "cpu"
    try:
        if threads is None:
            yield
        else:
            with threads_pinned(threads):
                yield
    finally:
        if saved_device is None:
            del os.environ["DLBOOK_DEVICE"]
        else:
            os.environ["DLBOOK_DEVICE"] = saved_device
