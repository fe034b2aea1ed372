"""Broken "solutions" every exercise check must explain in words (shared by the check tests)."""

from __future__ import annotations

import time

import numpy as np


def stub(*args, **kwargs):
    """The untouched exercise: the check must say "not implemented yet"."""
    raise NotImplementedError  # your code here


def crash(*args, **kwargs):
    """Raises IndexError: the check must name the exception and the input."""
    return [][1]


def runaway(*args, **kwargs):
    """Never returns: the check must stop it and say it was too slow."""
    while True:
        time.sleep(0.01)


def no_return(*args, **kwargs):
    """Forgets the return statement: the check must say None came back."""
    np.zeros(3)
