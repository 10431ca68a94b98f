"""Nurture's command line: `python cli.py COMMAND ...` (see `python cli.py --help`).

Each command lives in its own module under `commands/` and exposes
`register(subparsers)`; this file only wires them together. Command modules keep
their top-level imports light (heavy ones go inside the function that runs), so
`python cli.py validate` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python cli.py",
        description="Nurture: marketing nurture journeys as YAML in git, run durably on Temporal.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # temporalio's core can abort at interpreter exit in short-lived clients
    # (sdk-python issue 300); leave without running finalizers.
    os._exit(code)
