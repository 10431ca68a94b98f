"""`python cli.py plan [PATH]`: what `apply` would change (new, changed with a step diff,
removed, runs in flight per step)."""

from __future__ import annotations

import argparse


def add_deploy_args(p: argparse.ArgumentParser) -> None:
    """Arguments shared by plan and apply."""
    p.add_argument("path", nargs="?", default="journeys", help="journeys folder or one file (default: journeys/)")
    p.add_argument("--migrate", action="store_true", help="move runs on older versions to the new version")
    p.add_argument("--drain", action="append", default=[], metavar="JOURNEY",
                   help="stop new entries to JOURNEY and let its runs finish (repeatable)")
    p.add_argument("--resume", action="append", default=[], metavar="JOURNEY",
                   help="accept new entries to a draining JOURNEY again (repeatable)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plan", help="show what apply would deploy",
                              description="Compile the journeys and compare them with what is deployed.")
    add_deploy_args(p)
    p.set_defaults(func=run)


def load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The compiled journeys, or None after printing why not (before any connection is made)."""
    from deploy.load import DeployError, load_for_deploy
    from deploy.runner import fail

    try:
        return load_for_deploy(args.path)
    except DeployError as exc:
        fail(str(exc))
        return None


async def make_plan(client, store, journeys, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from deploy.plan import build_plan

    return await build_plan(client, store, journeys, whole_set=Path(args.path).is_dir(),
                            drain=args.drain, resume=args.resume, migrate=args.migrate)


def run(args: argparse.Namespace) -> int:
    from deploy.report import format_plan
    from deploy.runner import run_action

    journeys = load(args)
    if journeys is None:
        return 1

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        print(format_plan(await make_plan(client, store, journeys, args)))
        return 0

    return run_action(action)
