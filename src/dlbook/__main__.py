"""``python -m dlbook COMMAND``: helpers for readers of the book.

    python -m dlbook doctor      can this Python environment run the book?

With no command, or with ``--help``, print the usage and exit 0; an unknown
command prints the usage and exits 2, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    import dlbook

    parser = argparse.ArgumentParser(
        prog="python -m dlbook",
        description="Command-line helpers for dlbook, the executable deep-learning textbook.",
    )
    parser.add_argument("--version", action="version", version=f"dlbook {dlbook.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="check Python, the pinned packages, devices, write access and the bundled data",
        description="Check that this Python environment can run the book. Exit code 0: "
        "ready (warnings allowed); 1: something to fix, explained under the table.",
    )
    doctor.add_argument(
        "--requirements",
        metavar="PATH",
        help="the pin file to check against (default: the book's requirements.txt)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code (0 ok, 1 a check failed, 2 bad usage)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error
        return stop.code if isinstance(stop.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 0
    from dlbook.doctor import run_doctor  # heavy checks load only when asked for

    return run_doctor(args.requirements)


if __name__ == "__main__":
    sys.exit(main())
