"""Docstrings that derive maths must be valid reStructuredText.

The API reference typesets ``.. math::`` and ``:math:`` only when a docstring parses;
one that does not is shown as plain text (``_ext/dlbook_api.py``), TeX and all. This
catches that without building the book.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import dlbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
from dlbook_api import rst_problems  # noqa: E402


def _math_docstrings() -> dict[str, str]:
    found = {}
    for info in pkgutil.walk_packages(dlbook.__path__, "dlbook."):
        if info.name.split(".")[-1].startswith(("torch", "tensorflow")) or "_backend" in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        doc = module.__doc__ or ""
        if ".. math::" in doc or ":math:`" in doc:
            found[info.name] = doc
    return found


MATH_DOCS = _math_docstrings()


def test_the_finder_sees_the_packages_that_derive_maths() -> None:
    assert {"dlbook.attention", "dlbook.alignment", "dlbook.optim"} <= set(MATH_DOCS)
    assert rst_problems("``an inline literal that never ends\n") != []


@pytest.mark.parametrize("name", sorted(MATH_DOCS))
def test_docstring_with_maths_is_valid_rst(name: str) -> None:
    problems = rst_problems(MATH_DOCS[name])
    assert not problems, (
        f"{name}'s docstring is not valid reST, so its maths shows as TeX: {problems}"
    )


def _table_docstrings() -> dict[str, str]:
    """Package docstrings that hold an API table (a reST simple table, ``===  ===``)."""
    found = {}
    for info in pkgutil.walk_packages(dlbook.__path__, "dlbook."):
        if not info.ispkg:
            continue
        doc = importlib.import_module(info.name).__doc__ or ""
        if any(line.startswith("==") and "  =" in line for line in doc.splitlines()):
            found[info.name] = doc
    return found


TABLE_DOCS = _table_docstrings()


def test_the_finder_sees_the_api_tables() -> None:
    assert {"dlbook.lm", "dlbook.nn", "dlbook.rnn"} <= set(TABLE_DOCS)


@pytest.mark.parametrize("name", sorted(TABLE_DOCS))
def test_api_table_is_valid_rst(name: str) -> None:
    problems = rst_problems(TABLE_DOCS[name])
    assert not problems, (
        f"{name}'s API table is not valid reST, so it shows as plain text: {problems}"
    )
