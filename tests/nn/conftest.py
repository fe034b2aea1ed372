"""Shared fixtures for the ``dlbook.nn`` tests: the digits split, loaded once per session."""

from __future__ import annotations

import pytest

from dlbook.data import DataSplit, load_digits_split


@pytest.fixture(scope="session")
def digits() -> DataSplit:
    """The book's fixed 70/15/15 split of scikit-learn's digits, float32."""
    return load_digits_split()


@pytest.fixture(scope="session")
def digits64() -> DataSplit:
    """The same split in float64, for comparing backends number for number."""
    return load_digits_split(dtype="float64")
