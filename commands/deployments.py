"""`python cli.py deployments [JOURNEY] [--format json]`: the deployments, newest first: id,
commit, actor, time and what changed (with JOURNEY, those that changed it)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("deployments", help="list deployments (commit, actor, time, what changed)",
                              description="The applies that landed, newest first.")
    p.add_argument("journey", nargs="?", help="only the deployments that changed this journey")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.set_defaults(func=run)


def format_deployments(rows: list) -> str:  # type: ignore[type-arg]
    if not rows:
        return "no deployments yet"
    lines: list[str] = []
    for d in rows:
        branch = f" on {d.branch}" if d.branch else ""
        lines.append(f"#{d.id}  {d.commit_label}{branch}  {d.actor}  {d.at:%Y-%m-%d %H:%M:%S} UTC")
        lines += [f"    {c}" for c in d.changes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from deploy.runner import run_action

    async def action(_client, store) -> int:  # type: ignore[no-untyped-def]
        rows = store.list_deployments(args.journey, limit=args.limit)
        if args.format == "json":
            print(json.dumps([d.to_dict() for d in rows], indent=1))
        else:
            print(format_deployments(rows))
        return 0

    return run_action(action, needs_client=False)
