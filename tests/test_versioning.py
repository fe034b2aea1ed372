"""dlbook.require: a chapter's first cell checks that it runs on the dlbook it was written for."""

import pytest

import dlbook
from dlbook.versioning import VersionMismatch, check_version, parse_version, require


@pytest.mark.parametrize(
    ("required", "installed"),
    [
        ("0.1", "0.1.0"),
        ("0.1", "0.1.3"),
        ("0.1.2", "0.1.3"),
        ("0.1.3", "0.1.3"),
        ("1.4", "1.4.0rc1"),
    ],
)
def test_compatible_versions_pass(required: str, installed: str) -> None:
    assert check_version(required, installed) is None
    assert require(required, installed=installed) == installed


@pytest.mark.parametrize(
    ("required", "installed"), [("0.2", "0.1.0"), ("1.0", "0.9.9"), ("0.1.4", "0.1.3")]
)
def test_older_installed_package_raises_with_the_fix(required: str, installed: str) -> None:
    with pytest.raises(VersionMismatch) as info:
        require(required, installed=installed)
    message = str(info.value)
    assert message == check_version(required, installed)
    assert message.startswith(f"This chapter needs dlbook {required} but {installed} is installed")
    assert "make venv" in message and "restart the kernel" in message
    assert "\n" not in message  # one line, read at a glance
    assert isinstance(info.value, RuntimeError)
    assert info.value.__suppress_context__


def test_newer_installed_package_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLBOOK_ALLOW_NEWER", raising=False)
    with pytest.raises(VersionMismatch) as info:
        require("0.0", installed="0.1.0")
    message = str(info.value)
    assert message.startswith("This chapter was written for dlbook 0.0 but 0.1.0 is installed")
    assert "git checkout" in message and "DLBOOK_ALLOW_NEWER=1" in message
    assert "\n" not in message


def test_allow_newer_turns_the_error_into_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLBOOK_ALLOW_NEWER", "1")
    with pytest.warns(UserWarning, match="written for dlbook 0.0"):
        assert require("0.0", installed="0.1.0") == "0.1.0"
    with pytest.raises(VersionMismatch):  # an older package is never allowed
        require("0.2", installed="0.1.0")


@pytest.mark.parametrize("bad", ["abc", "1", "1.2.3.4", "", "0.1a", "v0.1", 0.1, 1, None])
def test_malformed_requirement_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\[\.PATCH\]"):
        require(bad, installed="0.1.0")  # type: ignore[arg-type]


def test_a_float_gets_a_hint_to_quote_it() -> None:
    with pytest.raises(ValueError, match='write it as a string: "0.1"'):
        require(0.1)  # type: ignore[arg-type]


def test_parse_version() -> None:
    assert parse_version("0.1") == (0, 1, None)
    assert parse_version(" 2.10.3 ") == (2, 10, 3)
    assert parse_version("0.2.0rc1", lenient=True) == (0, 2, 0)
    assert parse_version("0.1.0+local", lenient=True) == (0, 1, 0)
    with pytest.raises(ValueError):
        parse_version("0.2.0rc1")


def test_require_reads_the_installed_dlbook_version(monkeypatch: pytest.MonkeyPatch) -> None:
    major_minor = ".".join(dlbook.__version__.split(".")[:2])
    assert dlbook.require(major_minor) == dlbook.__version__
    monkeypatch.setattr(dlbook, "__version__", "0.3.0")
    assert dlbook.require("0.3") == "0.3.0"
    with pytest.raises(VersionMismatch, match="needs dlbook 0.4 but 0.3.0 is installed"):
        dlbook.require("0.4")


def test_jupyter_shows_one_line() -> None:
    """IPython prints ``_render_traceback_()`` instead of the traceback."""
    err = VersionMismatch("This chapter needs dlbook 0.2 but 0.1.0 is installed: ...")
    assert err._render_traceback_() == [f"VersionMismatch: {err}"]
