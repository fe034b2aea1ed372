"""Keep the book's home in one place: `repository:` in `_config.yml`.

The repository URL and branch are set once, in the `repository:` block of
`_config.yml` (the launch buttons read it there). A notebook opened on Colab and
an installed `dlbook` cannot read that file, so this script copies the value to

* every notebook: its first code cell is a hidden Colab install cell (cell tag
  `remove-cell`: not shown in the HTML book, still in the notebook that the
  Colab and Binder buttons open), and
* `src/dlbook/_home.py`, which `dlbook doctor` reads outside a checkout.

`tests/test_launch.py` and `tests/test_repository_url.py` fail when they drift:

    python tools/colab_cell.py           # rewrite the install cells and _home.py
    python tools/colab_cell.py --check   # exit 1 (and list the files) if anything is stale

The script is idempotent, and converts the older form of the block (the same
lines at the top of the set-up cell) into the separate hidden cell.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
HOME_MODULE = ROOT / "src" / "dlbook" / "_home.py"
TAG = "remove-cell"  # Jupyter Book hides the cell; Colab and Binder still run it
MARKER = "# Colab only: install dlbook from the book's repository (hidden in the book)."
OLD_MARKER = "# On Colab, install dlbook from the book's repository; elsewhere this does nothing."
OLD_BLOCK_LINES = 4  # the older block: marker, import line, `if` line, `!pip` line
# Packages the notebooks import that Colab does not ship, as exact pins. Colab
# (Python 3.12) already has NumPy, SciPy, scikit-learn, matplotlib, tqdm,
# ipywidgets, PyTorch and TensorFlow, so the list is empty; a chapter that needs
# another package adds its pin here (and to requirements.txt).
COLAB_LACKS: tuple[str, ...] = ()


def _repository_block() -> str:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    match = re.search(r"^repository:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)", text, flags=re.MULTILINE)
    if not match:
        raise SystemExit("_config.yml has no `repository:` block")
    return match.group(1)


def _field(block: str, name: str) -> str | None:
    match = re.search(rf"^[ \t]+{name}:[ \t]*(\S+)", block, flags=re.MULTILINE)
    return match.group(1).strip("'\"") if match else None


def repository_url() -> str:
    """`repository.url` from _config.yml (a tiny parser: no YAML dependency needed)."""
    url = _field(_repository_block(), "url")
    if not url:
        raise SystemExit("_config.yml has no repository.url")
    return url.rstrip("/")


def repository_branch() -> str:
    """`repository.branch` from _config.yml (default ``main``)."""
    return _field(_repository_block(), "branch") or "main"


def install_lines(url: str | None = None, branch: str | None = None) -> str:
    """The source of the hidden install cell.

    ``--no-deps`` installs dlbook alone: Colab's own NumPy, PyTorch and
    TensorFlow stay as they are (no downgrade, no 2 GB download), and
    ``COLAB_LACKS`` adds only the packages Colab does not have.
    """
    url = url or repository_url()
    branch = branch or repository_branch()
    lines = [
        MARKER,
        "# --no-deps keeps Colab's own NumPy, PyTorch and TensorFlow as they are.",
        "import importlib.util, sys  # noqa: E401",
        "",
        'if "google.colab" in sys.modules and not importlib.util.find_spec("dlbook"):',
        f'    _home = "{url}"',
        f'    !pip install -q --no-deps "dlbook @ git+{{_home}}@{branch}"',
    ]
    if COLAB_LACKS:
        lines.append(f"    !pip install -q {' '.join(COLAB_LACKS)}")
    return "\n".join(lines)


def home_module(url: str | None = None, branch: str | None = None) -> str:
    """The text of ``src/dlbook/_home.py``."""
    url = url or repository_url()
    branch = branch or repository_branch()
    return (
        '"""The book\'s home, copied from `repository:` in _config.yml by tools/colab_cell.py.\n\n'
        "Do not edit: change _config.yml, then run `python tools/colab_cell.py`\n"
        "(tests/test_repository_url.py checks that the two agree).\n"
        '"""\n\n'
        f'REPOSITORY_URL = "{url}"\n'
        f'REPOSITORY_BRANCH = "{branch}"\n'
    )


def notebooks() -> list[Path]:
    paths = sorted((ROOT / "chapters").glob("*.ipynb"))
    paths += sorted((ROOT / "exercises").rglob("*.ipynb"))
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts]


def is_install_cell(cell: nbformat.NotebookNode) -> bool:
    """A cell that starts with the install block (either form)."""
    return cell.cell_type == "code" and cell.source.startswith((MARKER, OLD_MARKER))


def _strip_old_block(source: str) -> str:
    """The set-up cell without the older 4-line block at its top."""
    lines = source.split("\n")
    if lines[0] == OLD_MARKER:
        return "\n".join(lines[OLD_BLOCK_LINES:]).lstrip("\n")
    return source


def with_install_cell(nb: nbformat.NotebookNode, block: str) -> bool:
    """Make ``nb``'s first code cell the hidden install cell; return True if ``nb`` changed."""
    before = nbformat.writes(nb)
    codes = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first = nb.cells[codes[0]] if codes else None
    if first is not None and first.source.startswith(OLD_MARKER):
        rest = _strip_old_block(first.source)
        if rest.strip():  # the older form: split the block off the set-up cell
            first.source = rest
            first = None
    if first is None or not is_install_cell(first):
        first = nbformat.v4.new_code_cell(block)
        if "id" in first:  # nbformat >= 4.5: a fixed id keeps the file stable
            first.id = "colab-install"
        nb.cells.insert(codes[0] if codes else 0, first)
        _number_as_executed(nb, first)
    first.source = block
    first.outputs = []  # off Colab the cell prints nothing
    tags = list(first.metadata.get("tags", []))
    if TAG not in tags:
        first.metadata["tags"] = [*tags, TAG]
    # a second install cell (a script run on an already converted copy) is dropped
    nb.cells = [c for c in nb.cells if c is first or not is_install_cell(c)]
    return nbformat.writes(nb) != before


def _number_as_executed(nb: nbformat.NotebookNode, install: nbformat.NotebookNode) -> None:
    """In an executed notebook the new first cell ran first: it gets 1, the others shift by 1.

    (A notebook's stored outputs stay valid: the install cell does nothing off Colab.)
    """
    others = [c for c in nb.cells if c.cell_type == "code" and c is not install]
    if others and all(c.execution_count is not None for c in others):
        for cell in others:
            cell.execution_count += 1
        install.execution_count = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    block = install_lines()
    stale = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if with_install_cell(nb, block):
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
    home = home_module()
    if not HOME_MODULE.is_file() or HOME_MODULE.read_text(encoding="utf-8") != home:
        stale.append(HOME_MODULE)
        if not args.check:
            HOME_MODULE.write_text(home, encoding="utf-8")
    verb = "stale" if args.check else "updated"
    for path in stale:
        print(f"{verb} {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
