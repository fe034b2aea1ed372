"""Drop <script> entries that Sphinx 7.4 emits twice on every page.

sphinx-thebe's inline script declares ``const THEBE_JS_URL``; the duplicate
throws "Identifier has already been declared" in the browser console, which
the book's browser test (tests/book/test_browser.py) treats as an error.
"""


def _dedupe(app, pagename, templatename, context, doctree):  # noqa: ANN001 - Sphinx hook
    seen, unique = set(), []
    for js in context.get("script_files", []):
        key = (js.filename or "", tuple(sorted(js.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):  # noqa: ANN001
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
