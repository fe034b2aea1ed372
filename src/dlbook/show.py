"""Show the book's own source code in a notebook, without the long docstrings.

A chapter shows the code it runs (it never copies it). ``{literalinclude}``
does that for short functions; for a function whose docstring is a page of
derivation, :func:`show_source` keeps the signature, the docstring's summary
line and the body, so the listing fits the page:

>>> from dlbook.show import show_source
>>> listing = show_source(show_source)
>>> listing.text.splitlines()[0]
'def show_source(obj: Any, *, docstring: bool = False) -> Source:'

In Jupyter the result displays as a highlighted Python block (Markdown), which
the built book renders like any other listing; its plain-text form is one
stable line naming the object, so notebook tests do not depend on the code.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Source:
    """The source of one function or class, as shown in the book."""

    name: str  # dotted name, e.g. "dlbook.scale.flops.flops_per_token"
    text: str  # the (possibly shortened) source, dedented

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.text}\n```"

    def __repr__(self) -> str:
        return f"<source of {self.name}>"


def _docstring_lines(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, summary) of every docstring of a def/class in ``tree``."""
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        body = node.body
        if not (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            continue
        doc = inspect.cleandoc(body[0].value.value)
        summary = doc.splitlines()[0] if doc else ""
        spans.append((body[0].lineno, body[0].end_lineno or body[0].lineno, summary))
    return spans


def show_source(obj: Any, *, docstring: bool = False) -> Source:
    """The source of ``obj`` (a function, method or class) for display in a notebook.

    ``docstring=False`` replaces each docstring longer than one line by its
    summary line: the derivation stays in the library (and in the API
    reference), the listing shows the code. ``docstring=True`` keeps it all.
    Raises ``TypeError`` for an object without Python source (a builtin).
    """
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as exc:
        raise TypeError(
            f"show_source needs a function, method or class written in Python; "
            f"{obj!r} has no source to show ({exc})."
        ) from None
    name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
    if docstring:
        return Source(name, source.rstrip("\n"))
    lines = source.splitlines()
    spans = _docstring_lines(ast.parse(source))
    for first, last, summary in sorted(spans, reverse=True):  # bottom up: line numbers hold
        if first == last:
            continue  # a one-line docstring is already short
        indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
        lines[first - 1 : last] = [f'{indent}"""{summary}"""'] if summary else []
    return Source(name, "\n".join(lines).rstrip("\n"))
