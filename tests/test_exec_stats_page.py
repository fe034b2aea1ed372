"""The execution-statistics page is never empty, and `--record` keeps the last run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("exec_stats_page", ROOT / "tools/exec_stats_page.py")
esp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(esp)

BOOK = ["chapters/01_a", "chapters/02_b", "exercises/01_a"]


def _notebook(stamps: list[tuple[str, str]] | None = None) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# t"}]
    for start, end in stamps or []:
        ex = {"iopub.execute_input": start, "shell.execute_reply": end}
        cells.append({"cell_type": "code", "metadata": {"execution": ex}, "source": ""})
    return json.dumps({"cells": cells})


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A tiny book: three notebooks in _toc.yml, none of them timed yet."""
    toc = "parts:\n  - chapters:\n" + "".join(f"      - file: {f}\n" for f in BOOK)
    (tmp_path / "_toc.yml").write_text(toc)
    for f in BOOK:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{f}.ipynb").write_text(_notebook())
    (tmp_path / "_build").mkdir()
    (tmp_path / "reference").mkdir()
    return tmp_path


def _stats(seconds: dict[str, float], when: str, machine: str = "CPU X (x86_64), 2 cores") -> str:
    notebooks = {
        f"{nb}.ipynb": {"seconds": s, "status": "passed", "recorded": when, "machine": machine}
        for nb, s in seconds.items()
    }
    return json.dumps({"format": 2, "budget_s": 90, "updated": when, "notebooks": notebooks})


def _row(page: str, nb: str) -> str:
    return next(line for line in page.splitlines() if line.startswith(f"| [{nb}.ipynb]"))


def test_committed_record_fills_the_page_without_a_fresh_run(book: Path) -> None:
    record = {"chapters/01_a": 41.3, "chapters/02_b": 12.0, "exercises/01_a": 3.5}
    (book / esp.RECORD).write_text(_stats(record, "2026-12-01 10:00 UTC"))
    page = esp.render(book)
    for nb, s in record.items():
        assert f"| {s:.1f} | passed |" in _row(page, nb)
    assert "2026-12-01 10:00 UTC" in page and "2 cores" in page
    assert "Total: 56.8 s for 3 notebooks" in page
    assert "not measured yet" not in page


def test_fresh_run_overrides_the_record_notebook_by_notebook(book: Path) -> None:
    (book / esp.RECORD).write_text(
        _stats({"chapters/01_a": 41.3, "chapters/02_b": 12.0, "exercises/01_a": 3.5}, "old day")
    )
    (book / esp.FRESH).write_text(_stats({"chapters/01_a": 30.0}, "new day", "CPU Y, 8 cores"))
    page = esp.render(book)
    assert "| 30.0 |" in _row(page, "chapters/01_a")
    assert "| 12.0 |" in _row(page, "chapters/02_b")
    assert "new day; CPU Y, 8 cores" in page and "old day; CPU X (x86_64), 2 cores" in page
    assert _row(page, "chapters/01_a").endswith("| A |")
    assert _row(page, "chapters/02_b").endswith("| B |")


def test_without_any_run_the_stored_timestamps_are_shown_and_labelled(book: Path) -> None:
    (book / "chapters/01_a.ipynb").write_text(
        _notebook(
            [
                ("2026-11-22T07:38:13.0Z", "2026-11-22T07:38:14.0Z"),
                ("2026-11-22T07:38:14.5Z", "2026-11-22T07:38:20.5Z"),
            ]
        )
    )
    page = esp.render(book)
    assert "| 7.5 | outputs stored |" in _row(page, "chapters/01_a")
    assert "not measured by `make test` yet" in page
    # a notebook with no timing anywhere is listed, and says so: never silently dropped
    assert "not measured yet" in _row(page, "chapters/02_b")


def test_record_merges_the_fresh_run_and_drops_vanished_notebooks(book: Path) -> None:
    (book / "chapters/99_gone.ipynb").write_text(_notebook())
    (book / esp.RECORD).write_text(
        _stats({"chapters/02_b": 12.0, "exercises/01_a": 3.5, "chapters/99_gone": 9.0}, "old day")
    )
    (book / "chapters/99_gone.ipynb").unlink()
    (book / esp.FRESH).write_text(_stats({"chapters/01_a": 30.0, "chapters/02_b": 11.0}, "today"))
    assert esp.main(["--record"], root=book) == 0
    kept = json.loads((book / esp.RECORD).read_text())["notebooks"]
    assert {nb: e["seconds"] for nb, e in kept.items()} == {
        "chapters/01_a.ipynb": 30.0,
        "chapters/02_b.ipynb": 11.0,
        "exercises/01_a.ipynb": 3.5,
    }
    assert kept["chapters/01_a.ipynb"]["recorded"] == "today"
    # and the page, written in the same call, shows it
    assert "| 30.0 |" in _row((book / esp.PAGE).read_text(), "chapters/01_a")


def test_record_without_a_test_run_refuses(book: Path) -> None:
    with pytest.raises(SystemExit, match="run `make test` first"):
        esp.main(["--record"], root=book)


def test_older_stats_format_is_read(book: Path) -> None:
    old = {
        "generated": "2026-11-30 09:00:00",
        "cores": 2,
        "budget_s": 90,
        "notebooks": {"chapters/01_a.ipynb": {"seconds": 5.0, "status": "passed"}},
    }
    (book / esp.FRESH).write_text(json.dumps(old))
    page = esp.render(book)
    assert "| 5.0 | passed |" in _row(page, "chapters/01_a")
    assert "2026-11-30 09:00:00; 2 cores" in page


def test_the_books_own_page_lists_every_notebook_with_seconds() -> None:
    page = esp.render(ROOT)
    for nb in esp.book_notebooks(ROOT):
        row = next((line for line in page.splitlines() if f"[{nb}]" in line), None)
        assert row is not None, f"{nb} is missing from the execution-statistics page"
        seconds = row.split("|")[2].strip()
        assert seconds.replace(".", "", 1).isdigit(), f"{nb} has no seconds: {row}"


def test_conftest_keeps_other_notebooks_and_records_the_machine(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    out = tmp_path / "exec_stats.json"
    out.write_text(_stats({"chapters/02_b": 12.0}, "yesterday"))
    root_conftest._durations.update({"chapters/01_a.ipynb": 30.04})
    root_conftest._write_stats(out)
    notebooks = json.loads(out.read_text())["notebooks"]
    assert notebooks["chapters/02_b.ipynb"]["recorded"] == "yesterday"
    fresh = notebooks["chapters/01_a.ipynb"]
    assert fresh["seconds"] == 30.0 and fresh["status"] == "passed"
    assert fresh["recorded"].endswith("UTC") and "core" in fresh["machine"]


def test_a_draft_outside_the_book_is_listed_without_a_link(book: Path) -> None:
    (book / "exercises/99_draft.ipynb").write_text(_notebook())
    stats = json.loads(_stats({"chapters/01_a": 7.1, "exercises/99_draft": 3.0}, "today"))
    stats["notebooks"]["exercises/99_draft.ipynb"]["status"] = "failed"
    (book / esp.FRESH).write_text(json.dumps(stats))
    page = esp.render(book)
    assert "| [chapters/01_a.ipynb](../chapters/01_a.ipynb) | 7.1 | passed |" in page
    assert "| `exercises/99_draft.ipynb` | 3.0 | failed |" in page
