"""`python cli.py plan [PATH]`: what `apply` would change (new, changed with a step diff,
removed, config files, runs in flight per step), as text, Markdown (a pull-request comment) or
JSON; `--detailed-exitcode` (0 nothing to do, 2 changes, 1 error); `--out FILE` saves the plan
for `apply FILE`."""

from __future__ import annotations

import argparse
import sys

FORMATS = ("text", "markdown", "json")


def add_deploy_args(p: argparse.ArgumentParser) -> None:
    """Arguments shared by plan and apply."""
    p.add_argument("path", nargs="?", default="journeys",
                   help="journeys folder or one file (default: journeys/); for apply also a saved plan")
    p.add_argument("--migrate", action="store_true", help="move runs on older versions to the new version")
    p.add_argument("--drain", action="append", default=[], metavar="JOURNEY",
                   help="stop new entries to JOURNEY and let its runs finish (repeatable)")
    p.add_argument("--resume", action="append", default=[], metavar="JOURNEY",
                   help="accept new entries to a draining JOURNEY again (repeatable)")
    p.add_argument("--actor", help="who deploys (default: NURTURE_ACTOR, the CI's user variable, the git user)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plan", help="show what apply would deploy",
                              description="Compile the journeys and config files and compare them with the live deployment.")
    add_deploy_args(p)
    p.add_argument("--format", choices=FORMATS, default="text", help="text (default), markdown (PR comment), json")
    p.add_argument("--detailed-exitcode", action="store_true",
                   help="exit 0 when there is nothing to do, 2 when there are changes, 1 on error")
    p.add_argument("--out", metavar="FILE", help="save the plan, to deploy exactly it with `apply FILE`")
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


async def make_plan(client, store, journeys, args: argparse.Namespace, *, whole_set: bool | None = None,
                    files=None):  # type: ignore[no-untyped-def]
    """The plan of deploying `journeys` (and the folder's config files) against the live deployment."""
    from pathlib import Path

    from deploy.load import folder_contents
    from deploy.plan import build_plan

    whole = Path(args.path).is_dir() if whole_set is None else whole_set
    return await build_plan(client, store, journeys, whole_set=whole, drain=args.drain, resume=args.resume,
                            migrate=args.migrate, files=folder_contents(args.path) if files is None and whole else files)


def render(plan, source, fmt: str) -> str:  # type: ignore[no-untyped-def]
    import json

    from deploy.plan_format import plan_dict, plan_markdown
    from deploy.report import format_plan

    if fmt == "json":
        return json.dumps(plan_dict(plan, source), indent=1)
    return plan_markdown(plan, source) if fmt == "markdown" else format_plan(plan)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from deploy.provenance import source_of
    from deploy.runner import run_action
    from deploy.saved_plan import save_plan

    journeys = load(args)
    if journeys is None:
        return 1
    source = source_of(args.path, args.actor)

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        plan = await make_plan(client, store, journeys, args)
        print(render(plan, source, args.format))
        if args.out:
            save_plan(args.out, plan, journeys, source, whole_set=Path(args.path).is_dir(), drain=args.drain,
                      resume=args.resume, migrate=args.migrate, folder=args.path)
            print(f"plan saved to {args.out}: deploy exactly it with `apply {args.out}`", file=sys.stderr)
        return 2 if args.detailed_exitcode and plan.has_changes else 0

    return run_action(action)
