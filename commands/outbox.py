"""`python cli.py outbox [--last N]`: the messages kept by the dev stack's SMTP sink."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("outbox", help="list the emails the dev SMTP sink kept (.data/outbox/*.eml)")
    p.add_argument("--last", type=int, default=20, metavar="N", help="only the last N (default 20)")
    p.add_argument("--data-dir", default=".data", help="the dev stack's data folder (default .data)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from devstack.outbox import read_outbox

    folder = Path(args.data_dir) / "outbox"
    if not folder.is_dir():
        print(f"no outbox at {folder}: start the dev stack with `python cli.py dev`")
        return 0
    entries = read_outbox(folder, args.last)
    if not entries:
        print(f"{folder}: empty")
    for e in entries:
        print(f"{e.date}  {e.to}  {e.subject}  ({e.path.name})")
    return 0
