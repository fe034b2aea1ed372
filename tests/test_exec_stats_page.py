"""The execution-statistics page is generated from the last test run, never typed by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("exec_stats_page", ROOT / "tools/exec_stats_page.py")
page = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page)


def test_page_without_a_recorded_run_says_how_to_get_one() -> None:
    text = page.render(None)
    assert "(exec-stats)=" in text and "make test" in text


def test_page_lists_times_and_links_only_pages_of_the_book() -> None:
    stats = {
        "generated": "2026-01-01 00:00:00",
        "cores": 2,
        "budget_s": 90.0,
        "notebooks": {
            "chapters/01_backprop.ipynb": {"seconds": 7.1, "status": "passed"},
            "exercises/99_draft.ipynb": {"seconds": 3.0, "status": "failed"},
        },
    }
    text = page.render(stats)
    assert "| [chapters/01_backprop.ipynb](../chapters/01_backprop.ipynb) | 7.1 | passed |" in text
    assert "| `exercises/99_draft.ipynb` | 3.0 | failed |" in text
    assert "Total: 10.1 s for 2 notebooks" in text
