"""dlbook without PyTorch and TensorFlow, as in the browser (Pyodide), and the in-page runner.

The built book runs NumPy cells in the page (tools/build_lite.py, tools/lite/). Pyodide has
NumPy, SciPy, scikit-learn and matplotlib but no torch, TensorFlow or ipywidgets, so here a
fresh CPython with those imports *blocked* must still import every NumPy part of dlbook and
reproduce chapter 1's stored outputs through the same runner the page uses. The browser
itself is tested in tests/book/test_inbrowser.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LITE = ROOT / "tools" / "lite"
_spec = importlib.util.spec_from_file_location("dlbook_lite_runner", LITE / "dlbook_lite_runner.py")
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)

# Modules that are PyTorch or TensorFlow code by design (besides every *_backend of them).
FRAMEWORK_MODULES = {
    "dlbook._tf": "the TensorFlow backends' shared tensor helpers",
    "dlbook._torch": "the PyTorch backends' shared tensor helpers",
    "dlbook.gpt.train": "trains the chapter GPT with PyTorch",
    "dlbook.lm.char_model": "the PyTorch character language model",
    "dlbook.rnn.gradient_flow": "measures gradients through PyTorch RNNs",
    "dlbook.rnn.seq2seq": "the PyTorch encoder-decoder",
}
BLOCKER = """
import importlib.abc, sys
BLOCKED = {"torch", "tensorflow", "keras", "ipywidgets"}
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
sys.meta_path.insert(0, _Block())
"""


def _blocked_python(code: str, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter where torch, TensorFlow and ipywidgets cannot load."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER + code],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_every_numpy_module_imports_without_frameworks() -> None:
    out = _blocked_python(
        "import importlib, json, pkgutil, dlbook\n"
        "bad = {}\n"
        "for m in pkgutil.walk_packages(dlbook.__path__, 'dlbook.'):\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except Exception as e:\n"
        "        bad[m.name] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps(bad))\n"
    )
    failed = json.loads(out.splitlines()[-1])
    by_design = re.compile(r"\.(torch|tensorflow)_backend$")
    unexpected = {
        name: why
        for name, why in failed.items()
        if not by_design.search(name) and name not in FRAMEWORK_MODULES
    }
    assert not unexpected, (
        f"these modules need torch/TF/ipywidgets at import, so they cannot run in the browser:"
        f" {unexpected}. Import the framework inside the function that needs it, or add the"
        " module to FRAMEWORK_MODULES with the reason."
    )
    assert "dlbook.checks.backprop" not in failed and "dlbook.nn.numpy_backend" not in failed


def test_chapter_1_numpy_cells_print_their_stored_outputs() -> None:
    """The page's runner, on chapter 1's NumPy cells, without frameworks: the stored text."""
    nb = nbformat.read(ROOT / "chapters" / "01_backprop.ipynb", as_version=4)
    shown = [c for c in nb.cells if "remove-cell" not in c.metadata.get("tags", [])]
    code = [c for c in shown if c.cell_type == "code"]  # the code cells the page shows
    sources = [c.source for c in code]
    kinds = runner.cell_kinds(sources)
    assert kinds[0] == "setup" and "framework" in kinds and kinds.count("numpy") >= 10
    cells = [(c.source, k == "setup") for c, k in zip(code, kinds, strict=True) if k != "framework"]
    out = _blocked_python(
        f"import importlib.util, json, os\n"
        f"os.environ['MPLBACKEND'] = 'agg'\n"
        f"path = {str(LITE / 'dlbook_lite_runner.py')!r}\n"
        f"spec = importlib.util.spec_from_file_location('r', path)\n"
        f"r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r)\n"
        f"r.set_up_matplotlib()\n"
        f"cells = json.loads({json.dumps(cells)!r})\n"
        f"print(json.dumps([json.loads(r.run(s, setup)) for s, setup in cells]))\n",
        timeout=600,
    )  # fmt: skip
    results = json.loads(out.splitlines()[-1])
    runnable = [(c, k) for c, k in zip(code, kinds, strict=True) if k != "framework"]
    compared = 0
    for (cell, kind), result in zip(runnable, results, strict=True):
        tags = cell.metadata.get("tags", [])
        if kind == "setup":
            assert result["dropped"] >= 2 and "In the page" in result["stdout"], result
            continue
        if "ipywidgets" in (result["error"] or ""):
            assert "does not run in the browser" in result["error"]
            continue
        assert result["error"] is None, f"{cell.source[:80]!r}: {result['error']}"
        stored = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if stored and "nbval-ignore-output" not in tags:
            assert result["stdout"] == stored, cell.source[:80]
            compared += 1
        figures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(result["images"]) >= len(figures)
    assert compared >= 8, "too few cells compared with their stored outputs"


def test_setup_cell_loses_only_its_framework_lines() -> None:
    source = (
        "import numpy as np\nimport torch\nimport dlbook\n"
        "tf = dlbook.import_tensorflow()\nrng = dlbook.seed_everything(0)\n"
        "print(f'torch {torch.__version__} | numpy {np.__version__}')\n"
        "print(f\"device: {device_name('torch')}\")\nx = 1\n"
    )
    kept, dropped = runner.without_frameworks(source)
    assert dropped == 4
    assert kept.splitlines() == [
        "import numpy as np",
        "import dlbook",
        "rng = dlbook.seed_everything(0)",
        "x = 1",
    ]


def test_runner_behaves_like_a_notebook_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    runner.NAMESPACE.clear()
    result = json.loads(runner.run("!pip install x\nimport math\nvalue = 2\nmath.sqrt(value * 8)"))
    assert result == {"stdout": "4.0\n", "error": None, "images": [], "dropped": 0}
    result = json.loads(runner.run("value + 1"))  # the namespace persists between cells
    assert result["stdout"] == "3\n"
    monkeypatch.setitem(sys.modules, "torch", None)  # as in Pyodide: no torch at all
    result = json.loads(runner.run("import torch"))
    assert "PyTorch does not run in the browser" in result["error"]
    result = json.loads(runner.run("print('a\\rb\\rc')\n1 / 0"))
    assert result["stdout"] == "c\n" and result["error"].rstrip().endswith(
        "ZeroDivisionError: division by zero"
    )
    assert 'File "<cell>", line 2' in result["error"], "the traceback starts at the cell"


def test_page_script_classifies_cells_like_the_runner() -> None:
    js = (LITE / "dlbook_lite.js").read_text(encoding="utf-8")
    raw = re.findall(r"String\.raw`([^`]*)`", js)
    assert "".join(raw[:2]) == runner.FRAMEWORK_CELL.pattern
    assert raw[2] == runner.SETUP_CELL.pattern
    kinds = runner.cell_kinds(
        ["import torch\nrng = dlbook.seed_everything(0)", "y = nn_tf.linear(x)", "np.ones(3)"]
    )
    assert kinds == ["setup", "framework", "numpy"]


@pytest.mark.slow
def test_dlbook_wheel_is_pure_python_with_its_data(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_lite", ROOT / "tools" / "build_lite.py")
    build_lite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_lite)
    wheel = build_lite.build_wheel(tmp_path)
    assert wheel.name.startswith("dlbook-") and wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dlbook/checks/backprop.py" in names and "dlbook/_home.py" in names
    assert any(n.startswith("dlbook/serving/data/") and n.endswith(".npz") for n in names)
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)
