"""Is the installed dlbook the one this chapter was written for?

Each chapter's first cell calls ``dlbook.require("0.1")``. The rule:

* the installed ``dlbook.__version__`` must have the same MAJOR.MINOR as the
  chapter asks for, and, when the chapter names a PATCH, at least that patch;
* an *older* package raises :class:`VersionMismatch`: the chapter calls
  functions that are not there yet;
* a *newer* MAJOR.MINOR raises too. A minor release of dlbook may rename or
  remove what an older chapter calls, and the chapter's stored outputs (which
  nbval compares) were made with the older code. Failing in the first cell, with
  one line that says what to do, beats a confusing ``AttributeError`` twenty
  cells later. A reader who wants to try anyway sets ``DLBOOK_ALLOW_NEWER=1``,
  which turns this case into a warning.

The rule itself is the pure function :func:`check_version`; :func:`require`
only adds the installed version and the exception.
"""

from __future__ import annotations

import os
import re
import warnings

__all__ = ["VersionMismatch", "check_version", "parse_version", "require"]

# MAJOR.MINOR[.PATCH]; the installed version may carry a suffix (0.2.0rc1, 0.1.0+local).
_REQUIRED = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_INSTALLED = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[.+\-]?[0-9A-Za-z.+\-]*)?")
_FORM = 'MAJOR.MINOR[.PATCH], such as "0.1" or "0.1.2"'
ALLOW_NEWER_ENV = "DLBOOK_ALLOW_NEWER"  # set to 1: a newer installed dlbook only warns


class VersionMismatch(RuntimeError):
    """The installed dlbook does not match the version a chapter was written for.

    In Jupyter it prints as its one-line message, with no traceback: IPython
    calls ``_render_traceback_`` when an exception defines it.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def parse_version(
    text: object, *, what: str = "version", lenient: bool = False
) -> tuple[int, int, int | None]:
    """Parse ``"MAJOR.MINOR[.PATCH]"`` into ``(major, minor, patch or None)``.

    ``lenient=True`` (for installed versions) also accepts a suffix such as
    ``"0.2.0rc1"`` or ``"0.1.0+local"``, which is ignored.

    >>> parse_version("0.1"), parse_version("1.2.3")
    ((0, 1, None), (1, 2, 3))
    """
    if not isinstance(text, str):
        hint = f' (write it as a string: "{text}")' if isinstance(text, int | float) else ""
        raise ValueError(
            f"The {what} must be a string of the form {_FORM}; got the "
            f"{type(text).__name__} {text!r}{hint}."
        )
    pattern = _INSTALLED if lenient else _REQUIRED
    match = pattern.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"The {what} must have the form {_FORM}; got {text!r}.")
    major, minor, patch = match.groups()
    return int(major), int(minor), None if patch is None else int(patch)


def check_version(required: str, installed: str) -> str | None:
    """Return the one-line problem when ``installed`` cannot run a chapter for ``required``.

    Returns ``None`` when they are compatible (same MAJOR.MINOR, patch not older).

    >>> check_version("0.1", "0.1.3") is None
    True
    >>> check_version("0.2", "0.1.0")[:34]
    'This chapter needs dlbook 0.2 but '
    """
    req = parse_version(required, what="required version")
    inst = parse_version(installed, what="installed version", lenient=True)
    inst_patch = inst[2] or 0
    older = inst[:2] < req[:2] or (
        inst[:2] == req[:2] and req[2] is not None and inst_patch < req[2]
    )
    if older:
        return (
            f"This chapter needs dlbook {required.strip()} but {installed} is installed: "
            "run `make venv` (or `pip install -U -e .`) in the book's folder, "
            "then restart the kernel."
        )
    if inst[:2] > req[:2]:
        return (
            f"This chapter was written for dlbook {required.strip()} but {installed} is "
            "installed: open the chapter from the same version of the book as the package "
            "(`git pull`, or `git checkout` the matching release), or set "
            f"{ALLOW_NEWER_ENV}=1 to run it anyway and expect differences."
        )
    return None


def require(version: str, *, installed: str | None = None) -> str:
    """Check that the installed dlbook can run a chapter written for ``version``.

    ``version`` is ``"MAJOR.MINOR"`` or ``"MAJOR.MINOR.PATCH"``. Returns the
    installed version string; raises :class:`VersionMismatch` (one line, which
    says what to do) when they do not match, and ``ValueError`` for a malformed
    ``version``. ``installed`` defaults to ``dlbook.__version__``.

    >>> import dlbook
    >>> dlbook.require("0.1", installed="0.1.0")
    '0.1.0'
    """
    __tracebackhide__ = True  # pytest and IPython hide this frame in tracebacks
    if installed is None:
        import dlbook

        installed = dlbook.__version__
    problem = check_version(version, installed)
    if problem is None:
        return installed
    newer = parse_version(installed, lenient=True)[:2] > parse_version(version)[:2]
    if newer and os.environ.get(ALLOW_NEWER_ENV, "") not in ("", "0"):
        warnings.warn(problem, stacklevel=2)
        return installed
    err = VersionMismatch(problem)
    err.__suppress_context__ = True  # no "During handling of ..." chain under the one line
    raise err
