"""Small fixes to the HTML of every page, applied after Sphinx has rendered it.

* The outputs of the exercise checks (a verdict "PASS ..." / "FAIL ...", or the
  older "✅ ..." / "❌ ...", with its hint) get the class ``dlbook-check``, which
  ``_static/dlbook.css`` wraps to the column: they are sentences, not tables.
* Long inline code such as ``dlbook.attention.numpy_backend.scaled_dot_product_attention()``
  gets a ``<wbr>`` (a line-break opportunity) after each dot, so that on a phone it
  breaks between names rather than in the middle of one.

Both are registered on ``html-page-context`` and change only ``context["body"]``.
"""

from __future__ import annotations

import re

# An output block of a notebook cell (myst-nb): <div class="output stream ..."> or
# text_plain, then the highlighted <pre>. The verdict starts a line of the output.
_OUTPUT = re.compile(
    r'<div class="output (?P<kind>stream|text_plain)(?P<rest>[^"]*)">'
    r'(?P<pre><div class="highlight"><pre>.*?</pre>)',
    re.DOTALL,
)
_VERDICT = re.compile(r"(^|\n|</span>)\s*(PASS\b|FAIL\b|✅|❌)")
_INLINE_PRE = re.compile(r'<span class="pre">([^<]{25,})</span>')


def mark_check_outputs(body: str) -> str:
    """Add ``dlbook-check`` to each output block that holds a check's verdict."""

    def mark(m: re.Match[str]) -> str:
        if not _VERDICT.search(m.group("pre")):
            return m.group(0)
        classes = f"output {m.group('kind')}{m.group('rest')} dlbook-check"
        return f'<div class="{classes}">{m.group("pre")}'

    return _OUTPUT.sub(mark, body)


def break_long_inline_code(body: str) -> str:
    """``<wbr>`` after every dot of an inline-code word of 25 characters or more."""
    return _INLINE_PRE.sub(
        lambda m: '<span class="pre">' + m.group(1).replace(".", ".<wbr>") + "</span>", body
    )


def _rewrite(app, pagename, templatename, context, doctree):  # noqa: ANN001 - Sphinx hook
    body = context.get("body")
    if body:
        context["body"] = break_long_inline_code(mark_check_outputs(body))


def setup(app):  # noqa: ANN001
    app.connect("html-page-context", _rewrite)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
