"""The one argument check that every module of ``dlbook.parallel`` needs."""

from __future__ import annotations

from typing import Any

import numpy as np


def positive_int(value: Any, name: str, hint: str = "") -> int:
    """``int(value)`` if it is an integer >= 1; else a ValueError naming ``name`` (and ``hint``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int{hint}, got {value!r}.")
    return int(value)
