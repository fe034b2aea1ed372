"""Docstrings that are not valid reStructuredText are shown as plain text, not dropped.

A package's ``__init__`` docstring holds its API table in plain text (columns lined
up by spaces), and a few docstrings write math such as ``|z|`` or ``|acc_m - conf_m|``
that reStructuredText reads as a substitution. Rendered as reST they stop the book's
``-W`` build. Before napoleon reads a docstring, this hook parses it quietly with
docutils; when docutils reports a problem (other than a Sphinx role or directive it
does not know), the docstring is shown as a literal block, exactly as written, and the
build log lists it (``docstring shown as plain text``) so its author can fix it.
"""

from __future__ import annotations

import io

from docutils import nodes
from docutils.core import publish_doctree
from sphinx.util import logging

logger = logging.getLogger(__name__)

# Messages about Sphinx's own roles and directives, which plain docutils does not know.
_SPHINX_ONLY = (
    "Unknown interpreted text role",
    "Unknown directive type",
    "No role entry",
    "No directive entry",
    'Trying "',
    "Unknown target name",
)


def rst_problems(text: str, env=None) -> list[str]:  # noqa: ANN001 - a BuildEnvironment
    """What docutils objects to in ``text`` (ignoring Sphinx-only roles and directives).

    Inside a build, Sphinx's roles are active and read ``settings.env``: pass ``env``.
    """
    try:
        doctree = publish_doctree(
            text,
            settings_overrides={
                "report_level": 2,  # keep warnings in the tree; the stream swallows them
                "halt_level": 5,
                "warning_stream": io.StringIO(),
                "file_insertion_enabled": False,
                "raw_enabled": False,
                **({"env": env} if env is not None else {}),
            },
        )
    except Exception as err:  # noqa: BLE001 - any failure means "not valid reST"
        return [str(err)]
    problems = []
    messages = list(doctree.findall(nodes.system_message)) + list(doctree.transform_messages)
    for msg in messages:
        text_ = msg.astext()
        if msg["level"] >= 2 and not any(s in text_ for s in _SPHINX_ONLY):
            problems.append(text_.splitlines()[0] if text_ else "problem")
    return problems


def plain_text_if_invalid(app, what, name, obj, options, lines):  # noqa: ANN001 - Sphinx hook
    if not lines:
        return
    # the trial parse must leave no trace: a :cite: role would note a citation
    cite_refs = app.env.get_domain("cite").citation_refs if "cite" in app.env.domains else None
    n_refs = len(cite_refs) if cite_refs is not None else 0
    problems = rst_problems("\n".join(lines), app.env)
    if cite_refs is not None:
        del cite_refs[n_refs:]
    if not problems:
        return
    logger.info(f"docstring shown as plain text: {name} ({problems[0]})")
    original = list(lines)
    lines[:] = ["::", ""] + [f"    {line}" if line.strip() else "" for line in original] + [""]


def setup(app):  # noqa: ANN001
    # before napoleon (priority 500), which turns numpy sections into reST
    app.connect("autodoc-process-docstring", plain_text_if_invalid, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
