"""``python -m dlbook doctor``: can this Python environment run the book?

Each check is a small function that returns one :class:`CheckRow`; the rows are
printed as a table, followed by a "How to fix:" line for every row that failed.
The exit code is 0 when every row is OK (warnings, shown as "!", are allowed)
and 1 otherwise, so scripts and CI can call the doctor too.

PyTorch and TensorFlow are imported inside the checks only, and a failing
import becomes a failed row, never a crash. For tests, :func:`run_doctor`
takes the version lookup (``version_of``) and the importer (``import_module``)
as arguments.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TextIO

VersionOf = Callable[[str], str]  # distribution name -> installed version
ImportModule = Callable[[str], ModuleType]  # module name -> module

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the book's folder in a source checkout
# When dlbook is installed without its source tree, check at least what dlbook imports.
CORE_PACKAGES = ("numpy", "scikit-learn", "scipy", "matplotlib", "tqdm", "torch", "tensorflow")
FALLBACK_REQUIRES_PYTHON = ">=3.11,<3.13"  # pyproject.toml's requires-python
DIGITS_ROWS = 1797  # scikit-learn's bundled 8x8 digits
MAKE_VENV = "run `make venv` in the book's folder"


@dataclass(frozen=True)
class CheckRow:
    """One line of the doctor's table."""

    name: str  # what is checked, e.g. "torch"
    found: str  # what this environment has
    expected: str  # what the book needs
    ok: bool = True  # False: the book will not run until this is fixed
    warning: bool = False  # True: it runs, but have a look (shown as "!")
    fix: str = ""  # plain words, printed under the table for failed and warned rows
    group: str = ""  # the table section this row belongs to


@dataclass(frozen=True)
class Pin:
    """One requirement line: ``name==version``, or just a name (any version)."""

    name: str  # distribution name, as pip spells it
    version: str | None  # the pinned version; None: any installed version will do

    @property
    def install(self) -> str:
        return self.name if self.version is None else f"{self.name}=={self.version}"


# --- versions -------------------------------------------------------------------------------


def _numbers(version: str) -> tuple[list[int], str]:
    """Split ``"2.13.0rc1"`` into ``([2, 13, 0], "rc1")``."""
    match = re.match(r"v?(\d+(?:\.\d+)*)(.*)", version.strip().lower())
    if match is None:
        return [], version.strip().lower()
    return [int(part) for part in match.group(1).split(".")], match.group(2)


def versions_match(found: str, pinned: str) -> bool:
    """Does the installed ``found`` satisfy the pin ``==pinned``?

    The local part after "+" is ignored unless the pin names one, so the CPU
    wheel ``2.13.0+cpu`` satisfies ``torch==2.13.0``. As in PEP 440, ``2.13``
    equals ``2.13.0``, and ``2.13.*`` matches every 2.13 release.
    """
    if "+" in pinned:
        return found.strip().lower() == pinned.strip().lower()
    have, have_rest = _numbers(found.split("+", 1)[0])
    if pinned.endswith(".*"):
        prefix, _ = _numbers(pinned[:-2])
        return (have + [0] * len(prefix))[: len(prefix)] == prefix
    want, want_rest = _numbers(pinned)
    width = max(len(have), len(want))
    padded = [v + [0] * (width - len(v)) for v in (have, want)]
    return padded[0] == padded[1] and have_rest == want_rest


def read_pins(path: Path) -> list[Pin]:
    """Parse a requirements file: ``name==version`` lines; comments and pip options skipped."""
    pins = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)", line)
        if match is None:
            continue
        spec = match.group(2).strip()
        version = spec[2:].strip() if spec.startswith("==") and "," not in spec else None
        pins.append(Pin(match.group(1), version))
    return pins


def find_requirements() -> Path | None:
    """The book's ``requirements.txt`` when dlbook runs from its source checkout, else None."""
    candidate = SOURCE_ROOT / "requirements.txt"
    if candidate.is_file() and (SOURCE_ROOT / "pyproject.toml").is_file():
        return candidate
    return None


# --- Python -------------------------------------------------------------------------------


def _requires_python() -> str:
    """``requires-python`` from pyproject.toml (source checkout), installed metadata, or default."""
    pyproject = SOURCE_ROOT / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            if project.get("name") == "dlbook" and project.get("requires-python"):
                return str(project["requires-python"])
        except (OSError, tomllib.TOMLDecodeError):
            pass
    try:
        return metadata.metadata("dlbook")["Requires-Python"] or FALLBACK_REQUIRES_PYTHON
    except (metadata.PackageNotFoundError, KeyError):
        return FALLBACK_REQUIRES_PYTHON


def _satisfies(version: tuple[int, ...], spec: str) -> bool:
    """Check a release tuple against a specifier such as ``">=3.11,<3.12"``."""
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        op, target = re.match(r"(~=|==|!=|>=|<=|>|<)?\s*(.*)", clause).groups()
        if target.endswith(".*"):
            prefix = tuple(int(p) for p in target[:-2].split("."))
            same = version[: len(prefix)] == prefix
            if (op == "!=" and same) or (op != "!=" and not same):
                return False
            continue
        want = tuple(int(p) for p in target.split("."))
        width = max(len(want), len(version))
        have, want_p = (version + (0,) * width)[:width], (want + (0,) * width)[:width]
        passed = {
            "==": have == want_p,
            ">=": have >= want_p,
            "<=": have <= want_p,
            ">": have > want_p,
            "<": have < want_p,
            "!=": have != want_p,
            "~=": have >= want_p and version[: len(want) - 1] == want[:-1],
        }.get(op or "==", True)  # an operator this parser does not know: not checked
        if not passed:
            return False
    return True


def _describe(spec: str) -> str:
    """Show ``">=3.11,<3.12"`` (in either order) as ``"3.11.x"`` and ``">=3.11,<3.13"`` as
    ``"3.11.x or 3.12.x"``; other specifiers as they are."""
    lower = re.search(r">=\s*(\d+)\.(\d+)(?![.\d])", spec)
    upper = re.search(r"<\s*(\d+)\.(\d+)(?![.\d])", spec)
    if lower and upper and spec.count(",") == 1:
        (major, minor), (up_major, up_minor) = (tuple(map(int, m.groups())) for m in (lower, upper))
        if up_major == major and minor < up_minor <= minor + 3:
            return " or ".join(f"{major}.{m}.x" for m in range(minor, up_minor))
    return spec


def check_python(version_info: tuple[int, ...] | None = None, spec: str | None = None) -> CheckRow:
    """Is this Python the version that pyproject.toml's ``requires-python`` names?"""
    version = tuple(version_info or sys.version_info[:3])
    spec = spec or _requires_python()
    found = ".".join(str(v) for v in version[:3])
    expected = _describe(spec)
    ok = _satisfies(version[:3], spec)
    fix = (
        f"the book needs Python {expected}, but this is Python {found} ({sys.executable}). "
        f"Install Python {expected} (python.org, pyenv or conda), then run "
        f"`make venv PYTHON=/path/to/python{expected.split()[0].removesuffix('.x')}` "
        "in the book's folder."
    )
    return CheckRow("Python", found, expected, ok=ok, fix="" if ok else fix)


# --- the book's home ------------------------------------------------------------------------


def _config_repository(config: Path) -> tuple[str, str] | None:
    """``(url, branch)`` from the ``repository:`` block of a Jupyter Book ``_config.yml``."""
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    block = re.search(r"^repository:[ \t]*\n((?:[ \t]+.*\n?|[ \t]*\n)*)", text, re.MULTILINE)
    if block is None:
        return None
    fields = dict(re.findall(r"^[ \t]+(url|branch):[ \t]*(\S+)", block.group(1), re.MULTILINE))
    if "url" not in fields:
        return None
    return fields["url"].strip("'\"").rstrip("/"), fields.get("branch", "main").strip("'\"")


def book_home(config: Path | None = None) -> tuple[str, str, str]:
    """``(url, branch, where)``: the book's repository, from ``_config.yml`` in a checkout,
    else from ``dlbook._home`` (written from that file by ``tools/colab_cell.py``)."""
    from dlbook import _home

    config = SOURCE_ROOT / "_config.yml" if config is None else config
    found = _config_repository(config) if config.is_file() else None
    if found is not None:
        return found[0], found[1], "_config.yml"
    return _home.REPOSITORY_URL, _home.REPOSITORY_BRANCH, "dlbook._home"


def check_home(config: Path | None = None) -> CheckRow:
    """Where the book lives (information); a warning when the installed copy disagrees."""
    from dlbook import _home

    url, branch, where = book_home(config)
    expected = f"branch {branch}, {where}"
    if (url, branch) == (_home.REPOSITORY_URL, _home.REPOSITORY_BRANCH):
        return CheckRow("book's home", url, expected)
    fix = (
        f"_config.yml names {url} ({branch}) but dlbook/_home.py says {_home.REPOSITORY_URL} "
        f"({_home.REPOSITORY_BRANCH}): run `python tools/colab_cell.py` in the book's folder."
    )
    return CheckRow("book's home", url, expected, warning=True, fix=fix)


# --- packages -----------------------------------------------------------------------------


def check_package(pin: Pin, version_of: VersionOf = metadata.version) -> CheckRow:
    """Is ``pin`` installed, at the pinned version?"""
    expected = pin.version or "any version"
    try:
        found = version_of(pin.name)
    except metadata.PackageNotFoundError:
        fix = f"{pin.name} is not installed: {MAKE_VENV}, or `pip install {pin.install}`."
        return CheckRow(pin.name, "not installed", expected, ok=False, fix=fix)
    if found is None:  # a broken install: the metadata has no version
        found = "unknown"
    if pin.version is None or versions_match(found, pin.version):
        return CheckRow(pin.name, found, expected)
    fix = (
        f"{pin.name} {found} is installed but the book is tested with {pin.version}: "
        f"{MAKE_VENV}, or `pip install {pin.install}`."
    )
    return CheckRow(pin.name, found, expected, ok=False, fix=fix)


def check_packages(
    requirements_path: Path | None, version_of: VersionOf = metadata.version
) -> list[CheckRow]:
    """One row per pin; without a pin file, dlbook's own imports at any version, plus a warning."""
    if requirements_path is not None:
        if not requirements_path.is_file():
            fix = f"there is no file {requirements_path}: give the book's requirements.txt."
            where = str(requirements_path)
            return [CheckRow("pin file", "missing", where, ok=False, fix=fix)]
        return [check_package(pin, version_of) for pin in read_pins(requirements_path)]
    warning = CheckRow(
        "pin file",
        "not found",
        "requirements.txt",
        warning=True,
        fix="dlbook is not running from the book's folder, so only its own imports are "
        "checked, at any version: run `python -m dlbook doctor --requirements "
        "path/to/requirements.txt` to check the pinned versions.",
    )
    rows = [check_package(Pin(name, None), version_of) for name in CORE_PACKAGES]
    return [warning, *rows]


# --- devices ------------------------------------------------------------------------------


def _import(name: str, import_module: ImportModule) -> tuple[ModuleType | None, str]:
    """Import ``name``; return ``(module, "")`` or ``(None, "what went wrong")``."""
    from dlbook._lazy import _silence_fd2

    if name == "tensorflow":  # quiet, as dlbook.import_tensorflow does
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _silence_fd2():
            return import_module(name), ""
    except Exception as err:  # a broken install raises OSError, AttributeError, ... too
        return None, f"{type(err).__name__}: {err}".splitlines()[0]


def check_framework(
    name: str, label: str, pin: str, import_module: ImportModule
) -> tuple[CheckRow, ModuleType | None]:
    """Does ``import name`` work? Returns the row and the module (None when it failed)."""
    module, error = _import(name, import_module)
    if module is not None:
        found = str(getattr(module, "__version__", "imported"))
        return CheckRow(f"import {name}", found, "imports"), module
    fix = (
        f"`import {name}` fails ({error}), so the {label} tabs of every chapter cannot run: "
        f"{MAKE_VENV}, or `pip install --force-reinstall {pin}`."
    )
    row = CheckRow(f"import {name}", f"fails: {error}", "imports", ok=False, fix=fix)
    return row, None


def check_cpu(torch: ModuleType | None) -> CheckRow:
    """How many cores, and how many threads PyTorch uses (information only)."""
    found = f"{os.cpu_count() or '?'} cores"
    if torch is not None:
        found += f", torch uses {torch.get_num_threads()} threads"
    return CheckRow("CPU", found, "any")


def check_cuda(torch: ModuleType) -> CheckRow:
    """Does PyTorch see a GPU? Optional, unless ``DLBOOK_EXPECT_CUDA=1`` (``make test-gpu``)."""
    expect = os.environ.get("DLBOOK_EXPECT_CUDA", "") not in ("", "0")
    expected = "a GPU (DLBOOK_EXPECT_CUDA=1)" if expect else "optional"
    try:
        available = bool(torch.cuda.is_available())
        found = torch.cuda.get_device_name(0) if available else "none (CPU only)"
    except Exception as err:  # a CUDA driver problem must not crash the doctor
        available, found = False, f"error: {type(err).__name__}"
    if available or not expect:
        return CheckRow("CUDA (torch)", found, expected)
    fix = (
        "DLBOOK_EXPECT_CUDA=1 asks for a GPU but PyTorch sees none: check `nvidia-smi`, and "
        "install a CUDA build of torch (the pinned CPU wheel has no CUDA)."
    )
    return CheckRow("CUDA (torch)", found, expected, ok=False, fix=fix)


def check_tf_gpus(tf: ModuleType) -> CheckRow:
    """Which GPUs TensorFlow sees (information only: every chapter runs on the CPU)."""
    try:
        gpus = tf.config.list_physical_devices("GPU")
        found = ", ".join(g.name for g in gpus) if gpus else "none (CPU only)"
    except Exception as err:
        found = f"error: {type(err).__name__}"
    return CheckRow("GPU (TensorFlow)", found, "optional")


# --- files and data -----------------------------------------------------------------------


def check_writable(label: str, directory: str | Path) -> CheckRow:
    """Can we create and delete a file in ``directory``?"""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".dlbook-doctor-") as handle:
            handle.write(b"ok")
            handle.flush()
    except OSError as err:
        fix = (
            f"cannot write to {directory} ({err.strerror or err}): run the book from a folder "
            "you own, or fix the folder's permissions."
        )
        return CheckRow(label, f"not writable ({directory})", "writable", ok=False, fix=fix)
    return CheckRow(label, str(directory), "writable")


def check_write_access(import_module: ImportModule) -> list[CheckRow]:
    """The current folder, matplotlib's cache folder and the temporary folder."""
    rows = [check_writable("current folder", Path.cwd())]
    matplotlib, _ = _import("matplotlib", import_module)
    if matplotlib is not None:  # a missing matplotlib is already a failed package row
        rows.append(check_writable("matplotlib cache", matplotlib.get_cachedir()))
    try:
        rows.append(check_writable("temporary folder", tempfile.gettempdir()))
    except FileNotFoundError as err:  # gettempdir found no usable folder at all
        fix = f"{err}: set TMPDIR to a folder you own."
        rows.append(CheckRow("temporary folder", "none usable", "writable", ok=False, fix=fix))
    return rows


def check_digits() -> CheckRow:
    """Do scikit-learn's bundled digits load offline, through dlbook's split?"""
    expected = f"{DIGITS_ROWS} rows"
    try:
        from dlbook.data import load_digits_split

        split = load_digits_split()
        n = len(split.y_train) + len(split.y_val) + len(split.y_test)
    except Exception as err:
        fix = (
            f"loading the digits failed ({type(err).__name__}: {err}); they ship inside "
            f"scikit-learn, no download needed: {MAKE_VENV}, or `pip install scikit-learn`."
        )
        return CheckRow("digits dataset", "fails to load", expected, ok=False, fix=fix)
    if n != DIGITS_ROWS:
        fix = f"the digits have {n} rows, not {DIGITS_ROWS}: reinstall scikit-learn ({MAKE_VENV})."
        return CheckRow("digits dataset", f"{n} rows", expected, ok=False, fix=fix)
    return CheckRow("digits dataset", f"{n} rows", expected)


# --- the report ---------------------------------------------------------------------------


def collect_rows(
    requirements_path: Path | None = None,
    *,
    version_of: VersionOf = metadata.version,
    import_module: ImportModule = importlib.import_module,
) -> list[CheckRow]:
    """Run every check, in table order."""
    pins = read_pins(requirements_path) if requirements_path and requirements_path.is_file() else []
    pinned = {p.name.lower(): p.install for p in pins}
    torch_row, torch = check_framework(
        "torch", "PyTorch", pinned.get("torch", "torch"), import_module
    )
    tf_pin = pinned.get("tensorflow", "tensorflow")
    tf_row, tf = check_framework("tensorflow", "TensorFlow", tf_pin, import_module)
    devices = [check_cpu(torch), torch_row]
    if torch is not None:
        devices.append(check_cuda(torch))
    devices.append(tf_row)
    if tf is not None:
        devices.append(check_tf_gpus(tf))
    sections = {
        "Python": [check_python(), check_home()],
        "packages": check_packages(requirements_path, version_of),
        "devices": devices,
        "write access": check_write_access(import_module),
        "data": [check_digits()],
    }
    return [replace(row, group=group) for group, rows in sections.items() for row in rows]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(rows: list[CheckRow], symbols: tuple[str, str] = ("✓", "✗")) -> str:
    """The rows as a fixed-width table, one section per group."""
    cells = [(r.name, _clip(r.found, 44), _clip(r.expected, 28), r) for r in rows]
    w_name = max(len("check"), *(len(c[0]) for c in cells)) + 2
    w_found = max(len("found"), *(len(c[1]) for c in cells)) + 2
    w_exp = max(len("expected"), *(len(c[2]) for c in cells)) + 2
    lines = [f"  {'check':<{w_name}}{'found':<{w_found}}{'expected':<{w_exp}}status"]
    lines.append("  " + "-" * (w_name + w_found + w_exp + 6))
    group = None
    for name, found, expected, row in cells:
        if row.group != group:
            group = row.group
            lines.append(f"{group}:")
        status = symbols[1] if not row.ok else "!" if row.warning else symbols[0]
        lines.append(f"  {name:<{w_name}}{found:<{w_found}}{expected:<{w_exp}}{status}")
    return "\n".join(lines)


def _symbols(stream: TextIO) -> tuple[str, str]:
    """✓ and ✗, or ASCII stand-ins when the terminal's encoding cannot show them."""
    try:
        "✓✗".encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return ("ok", "X")
    return ("✓", "✗")


def format_report(rows: list[CheckRow], symbols: tuple[str, str] = ("✓", "✗")) -> str:
    """Table, then a summary, then "How to fix:" for failures and "Notes:" for warnings."""
    failed = [r for r in rows if not r.ok]
    warned = [r for r in rows if r.ok and r.warning and r.fix]
    parts = [format_table(rows, symbols), ""]
    if failed:
        parts.append(f"{len(failed)} of {len(rows)} checks failed.")
        parts += [f"How to fix: {r.name}: {r.fix}" for r in failed]
    else:
        notes = f" ({len(warned)} note{'s' * (len(warned) != 1)} below)" if warned else ""
        parts.append(f"All {len(rows)} checks passed{notes}: this environment can run the book.")
    parts += [f"Note: {r.name}: {r.fix}" for r in warned]
    return "\n".join(parts)


def run_doctor(
    requirements_path: str | Path | None = None,
    stream: TextIO | None = None,
    *,
    version_of: VersionOf = metadata.version,
    import_module: ImportModule = importlib.import_module,
) -> int:
    """Print the report to ``stream`` (default: ``sys.stdout``); return 0 if all rows are OK.

    ``requirements_path`` defaults to the book's requirements.txt when dlbook
    runs from its source checkout. ``version_of`` and ``import_module`` are the
    seams the tests use to simulate missing or wrong packages.
    """
    import dlbook

    stream = sys.stdout if stream is None else stream
    path = Path(requirements_path) if requirements_path is not None else find_requirements()
    print("dlbook doctor: can this Python environment run the book?", file=stream)
    print(f"  python    {sys.executable}", file=stream)
    print(f"  dlbook    {dlbook.__version__} from {Path(dlbook.__file__).parent}", file=stream)
    print(f"  pins      {path or 'not found (dlbook is not in the book folder)'}", file=stream)
    print("  (loading PyTorch and TensorFlow takes a few seconds)\n", file=stream, flush=True)
    rows = collect_rows(path, version_of=version_of, import_module=import_module)
    print(format_report(rows, _symbols(stream)), file=stream, flush=True)
    return 0 if all(r.ok for r in rows) else 1
