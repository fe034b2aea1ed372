"""The book's home is named once: every repository URL in the book is the configured one.

`repository:` in _config.yml holds the URL and branch; tools/colab_cell.py copies them to
the notebooks' install cells and to ``src/dlbook/_home.py``. These tests fail when a file
of the repository (every tracked or new, not ignored, text file) or a page of the built
site names another code repository: a launch button, an install line or a link that
would send a reader to somebody else's code. Links to *other projects* that the book
cites on purpose are allowed one by one in ``ALLOWED``, each with its reason.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import dlbook._home

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
colab_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(colab_cell)

# owner/name on a code host, or behind a launcher (Colab, Binder) or a raw-file host.
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
REPOSITORY_URL = re.compile(
    r"(?:(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|raw\.githubusercontent\.com)/"
    r"|colab\.research\.google\.com/github/|mybinder\.org/v2/(?:gh|gl)/)"
    rf"(?P<owner>{_NAME})/(?P<name>{_NAME})",
    flags=re.IGNORECASE,
)
# Other projects the book links to on purpose ("owner/name", lower case): why each is fine.
ALLOWED = {
    "computationalmodelling/nbval": "README: the nbval tool that re-runs every notebook",
}
# Paths on github.com that are not repositories.
NOT_REPOSITORIES = {"repos", "orgs", "users", "settings", "features", "about", "sponsors"}
# Files that must name other repositories to test or explain this rule.
SKIP_FILES = {"tests/test_repository_url.py"}
# Folders of the built site that hold third-party files copied in verbatim: the theme's
# and MathJax's bundles (licence headers name their own upstream) and the Pyodide runtime.
SITE_VENDORED = ("_static/", "_lite/pyodide/", "_lite/wheels/")
TEXT_SUFFIXES = {
    "", ".py", ".md", ".ipynb", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".sh",
    ".bib", ".html", ".js", ".css", ".json", ".in", ".rst",
}  # fmt: skip


def configured_slug() -> str:
    """``owner/name`` of `repository.url` in _config.yml, lower case (GitHub ignores case)."""
    match = REPOSITORY_URL.search(colab_cell.repository_url())
    assert match, f"repository.url {colab_cell.repository_url()!r} is not a known code host URL"
    return f"{match['owner']}/{match['name']}".lower().removesuffix(".git")


def foreign_repositories(text: str, slug: str) -> list[str]:
    """Every ``owner/name`` in ``text`` that is neither ``slug`` nor allowed."""
    found = []
    for match in REPOSITORY_URL.finditer(text):
        owner, name = match["owner"].lower(), match["name"].lower().removesuffix(".git")
        if owner in NOT_REPOSITORIES or f"{owner}/{name}" in (slug, *ALLOWED):
            continue
        found.append(match.group(0))
    return found


def repository_files() -> list[Path]:
    """Tracked and new (not ignored) files of the checkout."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    paths = [ROOT / p for p in out.split("\0") if p]
    return [p for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES]


def summary(bad: dict[str, list[str]], shown: int = 8) -> str:
    """The first few offenders, for a readable failure message."""
    items = [f"{path}: {', '.join(urls)}" for path, urls in sorted(bad.items())[:shown]]
    more = f" (and {len(bad) - shown} more files)" if len(bad) > shown else ""
    return "; ".join(items) + more


def offenders(paths: Iterable[Path], base: Path, slug: str) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        rel = path.relative_to(base).as_posix()
        if rel in SKIP_FILES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if found := foreign_repositories(text, slug):
            bad[rel] = sorted(set(found))
    return bad


def test_home_module_matches_config() -> None:
    assert dlbook._home.REPOSITORY_URL == colab_cell.repository_url(), (
        "src/dlbook/_home.py is stale: run `python tools/colab_cell.py`"
    )
    assert dlbook._home.REPOSITORY_BRANCH == colab_cell.repository_branch()


def test_scanner_finds_other_repositories() -> None:
    slug = "me/book"
    text = (
        "pip install 'x @ git+https://github.com/Other/Thing.git' "
        "https://colab.research.google.com/github/a/b/blob/main/x.ipynb "
        "https://mybinder.org/v2/gh/c/d/main https://GitHub.com/ME/book/tree/main "
        "https://github.com/computationalmodelling/nbval https://api.github.com/repos/x/y"
    )
    assert foreign_repositories(text, slug) == [
        "github.com/Other/Thing.git",
        "colab.research.google.com/github/a/b",
        "mybinder.org/v2/gh/c/d",
    ]


def test_no_file_of_the_repository_names_another_repository() -> None:
    files = repository_files()
    assert len(files) > 50, "git ls-files found too few files"
    bad = offenders(files, ROOT, configured_slug())
    assert not bad, (
        f"files name a repository other than {colab_cell.repository_url()} (set in _config.yml):"
        f" {summary(bad)}. Run `python tools/colab_cell.py`, or add a cited project to"
        " ALLOWED with the reason."
    )


def site_offenders(html_dir: Path) -> dict[str, list[str]]:
    """Pages of a built site naming another repository (vendored files skipped).

    Used by tests/book/test_site_home.py, which runs after `make book`.
    """
    pages = [
        p
        for p in html_dir.rglob("*")
        if p.is_file()
        and p.suffix in TEXT_SUFFIXES
        and not p.relative_to(html_dir).as_posix().startswith(SITE_VENDORED)
    ]
    return offenders(pages, html_dir, configured_slug())
