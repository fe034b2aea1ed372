"""Write reference/execution_statistics.md from the last test run's timings.

`make test` records each notebook's run time and status in
_build/exec_stats.json (see conftest.py); `make book` calls this script first,
so the page is generated, never typed by hand.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATS = ROOT / "_build" / "exec_stats.json"
PAGE = ROOT / "reference" / "execution_statistics.md"

HEADER = """(exec-stats)=
# Execution statistics

Every notebook of the book is re-executed by `make test` (with nbval, in
strict mode, against its stored outputs). This page is generated from the
last such run by `tools/exec_stats_page.py`; the budget for a chapter is
{budget:.0f} s.

"""


def render(stats: dict | None) -> str:
    if stats is None:
        return HEADER.format(budget=90) + (
            "No test run has been recorded in this build yet. Run `make test`, then "
            "`make book`, to fill in this table.\n"
        )
    rows = ["| notebook | run time (s) | status |", "|---|---:|---|"]
    in_book = set(re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text()))
    for nb, info in stats["notebooks"].items():
        # link the pages of the book; a draft outside _toc.yml has no page to link to
        link = f"[{nb}](../{nb})" if nb.removesuffix(".ipynb") in in_book else f"`{nb}`"
        rows.append(f"| {link} | {info['seconds']:.1f} | {info['status']} |")
    total = sum(info["seconds"] for info in stats["notebooks"].values())
    footer = (
        f"\nTotal: {total:.1f} s for {len(stats['notebooks'])} notebooks, on a machine with "
        f"{stats['cores']} CPU cores; recorded {stats['generated']} (UTC).\n"
    )
    return HEADER.format(budget=stats["budget_s"]) + "\n".join(rows) + "\n" + footer


def main() -> int:
    stats = json.loads(STATS.read_text()) if STATS.exists() else None
    PAGE.write_text(render(stats))
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
