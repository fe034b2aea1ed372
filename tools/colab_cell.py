"""Keep the Colab install lines of every notebook in step with `_config.yml`.

The repository URL lives in one place, `repository.url` in `_config.yml`. Each
notebook's first cell carries an install line built from it (a notebook opened
on Colab cannot read the config), so this script rewrites those lines and
`tests/test_launch.py` fails when they drift:

    python tools/colab_cell.py          # rewrite every notebook's install lines
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# On Colab, install dlbook from the book's repository; elsewhere this does nothing."


def repository_url() -> str:
    """`repository.url` from _config.yml (a tiny parser: no YAML dependency needed)."""
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n(?:\s+.*\n)*?\s+url:\s*(\S+)", text, flags=re.MULTILINE)
    if not match:
        raise SystemExit("_config.yml has no repository.url")
    return match.group(1)


def install_lines(url: str | None = None) -> str:
    """The block that opens every notebook's first code cell."""
    url = url or repository_url()
    return (
        f"{MARKER}\n"
        "import importlib.util, sys  # noqa: E401\n"
        'if "google.colab" in sys.modules and importlib.util.find_spec("dlbook") is None:\n'
        f'    !pip install -q "dlbook @ git+{url}"\n'
    )


def notebooks() -> list[Path]:
    paths = sorted((ROOT / "chapters").glob("*.ipynb"))
    paths += sorted((ROOT / "exercises").rglob("*.ipynb"))
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts]


def with_install_lines(source: str, block: str) -> str:
    """Replace an existing install block (or prepend one) at the top of ``source``."""
    lines = source.split("\n")
    if lines[0] == MARKER:
        source = "\n".join(lines[4:]).lstrip("\n")  # drop the old 4-line block
    return block + "\n" + source


def main() -> int:
    block = install_lines()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        new = with_install_lines(first.source, block)
        if new != first.source:
            first.source = new
            nbformat.write(nb, path)
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
