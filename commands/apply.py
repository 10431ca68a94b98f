"""`python cli.py apply [PATH] [--yes] [--migrate] [--drain JOURNEY]`: deploy journeys."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    from commands.plan import add_deploy_args

    p = subparsers.add_parser("apply", help="deploy journeys (versions, search attributes, schedules)",
                              description="Show the plan, then deploy it. Idempotent: a second run says `no changes`.")
    add_deploy_args(p)
    p.add_argument("--yes", "-y", action="store_true",
                   help="do not ask for confirmation (needed without a terminal, e.g. in CI)")
    p.set_defaults(func=run)


def confirm(prompt: str) -> bool:
    """Ask on a terminal; without one (CI, a pipe) refuse, like terraform without -auto-approve."""
    if not sys.stdin.isatty():
        print("error: nothing applied: no terminal to confirm on; "
              "to apply without asking (CI), run `python cli.py apply --yes`", file=sys.stderr)
        return False
    return input(f"{prompt} [y/N] ").strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    from commands.plan import load, make_plan
    from deploy.apply import apply_plan
    from deploy.report import format_plan, format_report
    from deploy.runner import run_action, task_queue

    journeys = load(args)
    if journeys is None:
        return 1

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        plan = await make_plan(client, store, journeys, args)
        if plan.has_changes:
            print(format_plan(plan))
            if not args.yes and not confirm("apply these changes?"):
                return 1
        print(format_report(await apply_plan(client, store, plan, task_queue=task_queue())))
        return 0

    return run_action(action)
