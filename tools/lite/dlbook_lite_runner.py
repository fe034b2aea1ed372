"""Runs the book's NumPy cells inside the page (Pyodide); `dlbook_lite.js` calls :func:`run`.

It behaves like a notebook kernel with one namespace per page: the value of a last
expression is shown, print output is collected, and matplotlib figures are returned as
PNG images. Shell and magic lines (``!pip ...``, ``%timeit``) are skipped. The set-up
cell of a chapter imports PyTorch and TensorFlow, which do not exist in the browser:
:func:`without_frameworks` drops the statements that need them. The module is plain
Python, so the tests run it in CPython too.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import re
import sys
import traceback
import warnings

# Which cells get a Run button: dlbook_lite.js holds the same two patterns (tested).
FRAMEWORK_CELL = re.compile(
    r"(^|[^\w.])(torch|tensorflow|keras|tf)\b|import_(torch|tensorflow)\b"
    r"|(torch|tensorflow)_backend\b|\w_(tf|torch)\b|[\"'](torch|tensorflow)[\"']",
    re.MULTILINE,
)
SETUP_CELL = re.compile(r"seed_everything\(|dlbook\.require\(")
FRAMEWORKS = frozenset({"torch", "tensorflow", "keras", "tf"})
FRAMEWORK_CALLS = frozenset({"import_torch", "import_tensorflow"})
FRAMEWORK_TEXT = ("torch", "tensorflow", "keras")
NOT_IN_BROWSER = {
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "keras": "Keras",
    "ipywidgets": "Jupyter widgets (the static figure under the cell shows the same)",
}
NAMESPACE: dict = {"__name__": "__main__"}


def cell_kinds(sources: list[str]) -> list[str]:
    """ "setup", "framework" or "numpy" for each code cell of a page, as dlbook_lite.js does."""
    kinds = []
    for source in sources:
        if not kinds and SETUP_CELL.search(source):
            kinds.append("setup")
        elif FRAMEWORK_CELL.search(source):
            kinds.append("framework")
        else:
            kinds.append("numpy")
    return kinds


def strip_magics(source: str) -> str:
    """Replace IPython shell and magic lines (``!cmd``, ``%magic``) by ``pass``."""
    lines = []
    for line in source.split("\n"):
        code = line.lstrip()
        if code.startswith(("!", "%")):
            line = line[: len(line) - len(code)] + "pass  # a shell line: skipped in the browser"
        lines.append(line)
    return "\n".join(lines)


def _mentions_framework(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in FRAMEWORKS:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in FRAMEWORK_CALLS:
            return True
        if isinstance(sub, ast.alias) and sub.name.split(".")[0] in FRAMEWORKS - {"tf"}:
            return True
        if isinstance(sub, ast.ImportFrom) and (sub.module or "").split(".")[0] in FRAMEWORKS:
            return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            if sub.value in FRAMEWORK_TEXT:
                return True
    return False


def without_frameworks(source: str) -> tuple[str, int]:
    """``source`` without its top-level statements that use PyTorch or TensorFlow.

    Returns the new source and how many statements were dropped.
    """
    tree = ast.parse(strip_magics(source))
    kept = [node for node in tree.body if not _mentions_framework(node)]
    dropped = len(tree.body) - len(kept)
    tree.body = kept
    return ast.unparse(tree), dropped


def _explain(error: BaseException) -> str:
    """A traceback that starts at the reader's cell, plus a plain word for missing frameworks."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb))
    if isinstance(error, ModuleNotFoundError) and error.name:
        what = NOT_IN_BROWSER.get(error.name.split(".")[0])
        if what:
            text += (
                f"\n{what} does not run in the browser: run this cell locally, on Binder or on "
                "Colab (the buttons at the top of the page)."
            )
    return text


def collapse_carriage_returns(text: str) -> str:
    """What a terminal would show: a progress bar redrawn with ``\\r`` keeps its last state."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _figures() -> list[str]:
    """Every open matplotlib figure as a base64 PNG; the figures are then closed."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    plt = sys.modules["matplotlib.pyplot"]
    images = []
    for number in plt.get_fignums():
        buffer = io.BytesIO()
        plt.figure(number).savefig(buffer, format="png", bbox_inches="tight", dpi=80)
        images.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    plt.close("all")
    return images


def run(source: str, setup: bool = False) -> str:
    """Run one cell in the page's namespace; a JSON object {stdout, error, images, dropped}."""
    dropped = 0
    out = io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if setup:
                    source, dropped = without_frameworks(source)
                tree = ast.parse(strip_magics(source), "<cell>")
                last = None
                if tree.body and isinstance(tree.body[-1], ast.Expr):
                    last = ast.Expression(tree.body.pop().value)
                exec(compile(tree, "<cell>", "exec"), NAMESPACE)
                if last is not None:
                    value = eval(compile(last, "<cell>", "eval"), NAMESPACE)
                    if value is not None:
                        print(repr(value))
            except BaseException as err:  # the reader's code: show every error, never crash
                error = _explain(err)
            images = _figures()
    if setup and dropped:
        import platform

        import numpy

        versions = f"python {platform.python_version()} | numpy {numpy.__version__}"
        dlbook = sys.modules.get("dlbook")
        if dlbook is not None:
            versions += f" | dlbook {dlbook.__version__}"
        note = (
            f"In the page (Pyodide): {versions}.\n"
            "PyTorch and TensorFlow do not run in the browser, so their lines were skipped "
            "and their cells have no Run button.\n"
        )
        out.write(note)
    return json.dumps(
        {
            "stdout": collapse_carriage_returns(out.getvalue()),
            "error": error,
            "images": images,
            "dropped": dropped,
        }
    )


def set_up_matplotlib() -> None:
    """Draw into images (no window); called once when the runtime starts.

    Importing pyplot here builds matplotlib's font cache, whose "this may take a moment"
    note would otherwise appear under the reader's first cell.
    """
    import matplotlib

    matplotlib.use("agg")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        import matplotlib.pyplot  # noqa: F401
