"""The PyTorch helpers that every ``torch_backend`` shares: dtypes and conversions.

Only the torch backends import this module (it imports PyTorch, through
:func:`dlbook._lazy.import_torch`), so ``import dlbook`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlbook._lazy import import_torch
from dlbook._validate import as_float_array, check_float_dtype
from dlbook.device import get_device

torch = import_torch()

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_dtype(dtype: Any) -> torch.dtype:
    """``torch.float32`` or ``torch.float64`` for a dtype given as a name or dtype object."""
    return DTYPES[check_float_dtype(dtype)]


def as_tensor(
    x: Any,
    name: str = "x",
    *,
    device: Any = None,
    move: bool = False,
    dtype: Any = None,
    validate: bool = True,
) -> torch.Tensor:
    """``x`` as a tensor: the one conversion that the torch backends use.

    * A tensor is kept, so autograd still sees it (an integer tensor becomes float64);
      with ``move=True`` it is also moved to ``device``.
    * Anything else is checked by :func:`dlbook._validate.as_float_array` (a clear
      error for strings, objects, tracked tensors) and placed on ``device``:
      ``None`` for the book's device (:func:`dlbook.device.get_device`), or e.g. ``"cpu"``.
    * ``dtype`` casts either kind (a differentiable cast).
    * ``validate=False`` converts arrays as they are (token ids stay integers) and keeps
      tensors as they are.
    """
    target = device if device is not None else get_device()
    if isinstance(x, torch.Tensor):
        if validate and not x.is_floating_point():
            x = x.to(torch.float64)
        if move:
            x = x.to(target)
    else:
        x = torch.as_tensor(as_float_array(x, name) if validate else np.asarray(x), device=target)
    return x if dtype is None else x.to(dtype)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A NumPy array of a tensor's values (detached from the graph, copied to the CPU)."""
    return t.detach().cpu().numpy()
