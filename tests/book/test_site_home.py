"""The built book names no repository but the configured one (launch buttons included)."""

from __future__ import annotations

from pathlib import Path

from tests.test_repository_url import configured_slug, site_offenders, summary


def test_built_pages_name_only_the_configured_repository(html_dir: Path) -> None:
    bad = site_offenders(html_dir)
    assert not bad, f"pages name a repository other than {configured_slug()}: {summary(bad)}"
    # index.html only redirects to the root page, which carries the buttons
    root = (html_dir / "intro.html").read_text(encoding="utf-8").lower()
    assert configured_slug() in root, "the repository button links to the configured home"
