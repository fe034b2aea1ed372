"""Execute notebooks in place, top to bottom in a fresh kernel, and store their outputs.

    python tools/execute_notebooks.py chapters exercises          # all of them
    python tools/execute_notebooks.py chapters/01_backprop.ipynb  # one

Run it (or ``make execute``) after editing a notebook, then commit the outputs:
nbval compares every later run against them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def notebooks(args: list[str]) -> list[Path]:
    paths: list[Path] = []
    for arg in args:
        p = Path(arg)
        paths += sorted(p.rglob("*.ipynb")) if p.is_dir() else [p]
    return [p for p in paths if ".ipynb_checkpoints" not in p.parts]


def _skipped(cell) -> bool:
    return cell.cell_type == "code" and "nbval-skip" in cell.metadata.get("tags", [])


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same name into one.

    How a kernel splits printed text into messages depends on timing; one output
    per stream keeps the stored notebook (and its diff) the same run to run.
    """
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == out.get("name")
        ):
            last["text"] = "".join(last["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    # Live widget cells (tag nbval-skip) are left out here as under nbval: their
    # widget messages can stall a notebook runner. They keep no stored output.
    skipped = [(i, c) for i, c in enumerate(nb.cells) if _skipped(c)]
    for i, _ in reversed(skipped):
        del nb.cells[i]
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    for i, cell in skipped:
        cell.outputs, cell.execution_count = [], None
        nb.cells.insert(i, cell)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nb.metadata.pop("widgets", None)  # widget state holds random model ids
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for nb_path in notebooks(sys.argv[1:] or ["chapters", "exercises"]):
        print(f"{nb_path}: {execute(nb_path):.1f} s", flush=True)
