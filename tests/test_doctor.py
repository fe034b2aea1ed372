"""`python -m dlbook doctor`: the real environment passes; each kind of problem fails clearly."""

import importlib
import importlib.metadata as metadata
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from dlbook import doctor
from dlbook.__main__ import main
from dlbook.doctor import CheckRow, Pin, check_package, read_pins, run_doctor, versions_match

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def _run_cli(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "dlbook"]
    return subprocess.run(
        [*command, *([] if code else args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=ENV,
        timeout=300,
    )


def _doctor(tmp_path: Path, pins: str | None = None, **seams) -> tuple[int, str]:
    """Run the doctor in-process; ``pins`` replaces requirements.txt when given."""
    path = None
    if pins is not None:
        path = tmp_path / "requirements.txt"
        path.write_text(textwrap.dedent(pins))
    out = io.StringIO()
    return run_doctor(path, out, **seams), out.getvalue()


# --- the real environment ----------------------------------------------------------------


@pytest.mark.slow
def test_real_environment_passes_on_the_command_line() -> None:
    result = _run_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All" in result.stdout and "checks passed" in result.stdout
    for name in ("Python", "torch", "tensorflow", "CUDA (torch)", "digits dataset", "1797 rows"):
        assert name in result.stdout
    assert "✗" not in result.stdout


@pytest.mark.slow
def test_real_environment_passes_in_process(tmp_path: Path) -> None:
    code, out = _doctor(tmp_path)
    assert code == 0, out
    assert str(ROOT / "requirements.txt") in out  # the book's own pins were found


# --- packages ----------------------------------------------------------------------------


def test_wrong_version_fails_and_says_how_to_fix(tmp_path: Path) -> None:
    code, out = _doctor(tmp_path, "torch==9.9.9   # a pin nobody has\n")
    assert code == 1
    found = metadata.version("torch")
    row = next(line for line in out.splitlines() if line.strip().startswith("torch "))
    assert found in row and "9.9.9" in row and "✗" in row
    assert "How to fix: torch:" in out
    assert f"torch {found} is installed but the book is tested with 9.9.9" in out
    assert "`pip install torch==9.9.9`" in out and "make venv" in out


def test_missing_package_is_not_installed(tmp_path: Path) -> None:
    code, out = _doctor(tmp_path, "numpy\nnonexistent-pkg-dlbook==1.0\n")
    assert code == 1
    assert "not installed" in out
    assert "`pip install nonexistent-pkg-dlbook==1.0`" in out


def test_torch_missing_from_the_metadata(tmp_path: Path) -> None:
    def version_of(name: str) -> str:
        if name == "torch":
            raise metadata.PackageNotFoundError(name)
        return metadata.version(name)

    code, out = _doctor(tmp_path, "torch==2.13.0\nnumpy\n", version_of=version_of)
    assert code == 1
    assert "torch is not installed" in out and "`pip install torch==2.13.0`" in out


def test_torch_that_does_not_import_is_a_failed_row_not_a_crash(tmp_path: Path) -> None:
    def import_module(name: str):
        if name == "torch":
            raise OSError("libtorch_cpu.so: cannot open shared object file")
        return importlib.import_module(name)

    code, out = _doctor(tmp_path, "numpy\n", import_module=import_module)
    assert code == 1
    assert "How to fix: import torch: `import torch` fails (OSError: libtorch_cpu.so" in out
    assert "pip install --force-reinstall torch" in out
    assert "CUDA (torch)" not in out  # no device row for a torch that is not there


@pytest.mark.slow
def test_torch_blocked_in_a_subprocess() -> None:
    """A real interpreter in which `import torch` fails, as on a machine without torch."""
    code = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "torch":
                    raise ModuleNotFoundError("No module named 'torch'", name="torch")

        sys.meta_path.insert(0, Block())
        from dlbook.__main__ import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    result = _run_cli("doctor", code=code)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "How to fix: import torch:" in result.stdout
    assert "No module named 'torch'" in result.stdout
    assert "pip install --force-reinstall torch==" in result.stdout


def test_missing_pin_file_fails(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_doctor(tmp_path / "nowhere.txt", out) == 1
    assert "there is no file" in out.getvalue()


def test_without_the_pin_file_core_packages_are_checked_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor, "find_requirements", lambda: None)
    code, out = _doctor(tmp_path)
    assert code == 0, out  # a warning is not a failure
    pin_row = next(line for line in out.splitlines() if "pin file" in line)
    assert pin_row.rstrip().endswith("!")
    assert "Note: pin file:" in out and "--requirements" in out
    for name in doctor.CORE_PACKAGES:
        assert f"  {name} " in out


# --- version matching and parsing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "pinned", "match"),
    [
        ("2.13.0+cpu", "2.13.0", True),  # the CPU wheel satisfies the plain pin
        ("2.13.0+cu126", "2.13.0", True),
        ("2.13.0", "2.13.0", True),
        ("2.13", "2.13.0", True),
        ("1.0.4.post1", "1.0.4.post1", True),
        ("2.13.0+cpu", "2.13.0+cpu", True),
        ("2.13.1", "2.13.0", False),
        ("1.0.4", "1.0.4.post1", False),
        ("2.13.0", "2.13.0+cpu", False),
        ("2.13.0rc1", "2.13.0", False),
        ("2.13.4", "2.13.*", True),
        ("2.14.0", "2.13.*", False),
    ],
)
def test_versions_match(found: str, pinned: str, match: bool) -> None:
    assert versions_match(found, pinned) is match


def test_local_version_counts_as_matching() -> None:
    row = check_package(Pin("torch", "2.13.0"), version_of=lambda name: "2.13.0+cpu")
    assert row == CheckRow("torch", "2.13.0+cpu", "2.13.0")


def test_read_pins(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(
        "# a comment\n-c constraints.txt\n\nnumpy==2.4.6   # every chapter\n"
        "jupyter-book==1.0.4.post1\nkeras[tf] == 3.15.1\nrich\nscipy>=1.11\n"
    )
    assert read_pins(path) == [
        Pin("numpy", "2.4.6"),
        Pin("jupyter-book", "1.0.4.post1"),
        Pin("keras", "3.15.1"),
        Pin("rich", None),
        Pin("scipy", None),
    ]


def test_the_books_pin_file_is_found_and_pins_torch() -> None:
    path = doctor.find_requirements()
    assert path == ROOT / "requirements.txt"
    assert "torch" in {pin.name for pin in read_pins(path)}


# --- Python, devices, files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "ok"),
    [((3, 11, 7), True), ((3, 11, 0), True), ((3, 12, 1), False), ((3, 10, 9), False)],
)
@pytest.mark.parametrize("spec", [">=3.11,<3.12", "<3.12,>=3.11"])
def test_python_version(version: tuple[int, ...], ok: bool, spec: str) -> None:
    row = doctor.check_python(version, spec)
    assert row.ok is ok and row.expected == "3.11.x"
    assert ok or "make venv PYTHON=/path/to/python3.11" in row.fix


@pytest.mark.parametrize(
    ("version", "ok"),
    [((3, 11, 7), True), ((3, 12, 1), True), ((3, 13, 0), False), ((3, 10, 9), False)],
)
@pytest.mark.parametrize("spec", [">=3.11,<3.13", "<3.13,>=3.11"])
def test_python_versions_of_the_book(version: tuple[int, ...], ok: bool, spec: str) -> None:
    row = doctor.check_python(version, spec)
    assert row.ok is ok and row.expected == "3.11.x or 3.12.x"
    assert ok or "make venv PYTHON=/path/to/python3.11" in row.fix


def test_the_book_runs_on_python_3_11_and_3_12() -> None:
    import tomllib

    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert spec == doctor.FALLBACK_REQUIRES_PYTHON
    assert doctor.check_python((3, 11, 7), spec).ok and doctor.check_python((3, 12, 1), spec).ok


# --- the book's home -------------------------------------------------------------------------


def test_home_is_read_from_the_checkouts_config() -> None:
    from dlbook import _home

    url, branch, where = doctor.book_home()
    assert (url, branch, where) == (_home.REPOSITORY_URL, _home.REPOSITORY_BRANCH, "_config.yml")
    row = doctor.check_home()
    assert row.ok and not row.warning and row.found == url


def test_home_falls_back_to_the_installed_constant(tmp_path: Path) -> None:
    from dlbook import _home

    url, _, where = doctor.book_home(tmp_path / "_config.yml")  # no checkout here
    assert (url, where) == (_home.REPOSITORY_URL, "dlbook._home")


def test_a_fork_with_a_stale_home_module_gets_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "_config.yml"
    config.write_text(
        "title: x\nrepository:\n  url: 'https://example.org/me/fork/'\n  branch: dev\n\nhtml: {}\n"
    )
    assert doctor.book_home(config) == ("https://example.org/me/fork", "dev", "_config.yml")
    row = doctor.check_home(config)
    assert row.ok and row.warning and "tools/colab_cell.py" in row.fix


def test_cuda_is_optional_unless_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    no_gpu = SimpleNamespace(cuda=SimpleNamespace(is_available=lambda: False))
    monkeypatch.delenv("DLBOOK_EXPECT_CUDA", raising=False)
    assert doctor.check_cuda(no_gpu).ok
    monkeypatch.setenv("DLBOOK_EXPECT_CUDA", "1")
    row = doctor.check_cuda(no_gpu)
    assert not row.ok and "nvidia-smi" in row.fix


def test_a_visible_gpu_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = SimpleNamespace(is_available=lambda: True, get_device_name=lambda i: "NVIDIA H100")
    monkeypatch.setenv("DLBOOK_EXPECT_CUDA", "1")
    row = doctor.check_cuda(SimpleNamespace(cuda=cuda))
    assert row.ok and row.found == "NVIDIA H100"


def test_unwritable_folder_fails(tmp_path: Path) -> None:
    row = doctor.check_writable("current folder", tmp_path / "does-not-exist")
    assert not row.ok and "not writable" in row.found and "folder you own" in row.fix
    assert doctor.check_writable("current folder", tmp_path).ok
    assert list(tmp_path.iterdir()) == []  # the probe file was deleted


def test_ascii_terminal_gets_ascii_status() -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    rows = [CheckRow("a", "1", "1"), CheckRow("b", "1", "2", ok=False, fix="do this")]
    report = doctor.format_report(rows, doctor._symbols(stream))
    report.encode("ascii")  # would raise on ✓ or ✗
    assert "How to fix: b: do this" in report


# --- the command line --------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[], ["--help"], ["doctor", "--help"]])
def test_usage_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "usage: python -m dlbook" in capsys.readouterr().out


def test_unknown_command_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "usage: python -m dlbook" in err and "invalid choice: 'frobnicate'" in err


def test_command_line_usage_codes() -> None:
    assert _run_cli("--help").returncode == 0
    result = _run_cli("frobnicate")
    assert result.returncode == 2 and "usage:" in result.stderr


def test_import_dlbook_does_not_load_the_doctor() -> None:
    code = "import sys, dlbook; print(sorted({'dlbook.doctor', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
