"""Device selection: CUDA when present, otherwise the CPU.

Every chapter runs on a laptop CPU; the same notebooks run unchanged on a GPU
runner (``make test-gpu``). Set ``DLBOOK_DEVICE=cpu`` to force the CPU.
"""

from __future__ import annotations

import os
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
