"""`python cli.py apply [PATH | PLAN_FILE] [--yes] [--migrate] [--drain JOURNEY]`: deploy journeys and
their config files as one deployment, under the store's deploy lock, recording the git commit,
branch and actor. A saved plan (`plan --out FILE`) is applied exactly, or refused if the live
deployment moved since."""

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
    p.add_argument("--allow-dirty", action="store_true",
                   help="deploy a folder with uncommitted changes (recorded as dirty)")
    p.add_argument("--force", action="store_true",
                   help="deploy even though the live deployment's commit is not in this branch's history")
    p.add_argument("--lock-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for another apply to finish (default 60)")
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
    from deploy.load import DeployError
    from deploy.provenance import source_of, stale_refusal
    from deploy.report import format_plan, format_report
    from deploy.runner import fail, run_action, task_queue
    from deploy.saved_plan import applying_source, is_saved_plan, load_plan, moved_refusal

    saved = None
    if is_saved_plan(args.path):
        try:
            saved = load_plan(args.path)
        except DeployError as exc:
            return fail(str(exc))
        journeys, source = saved.journeys, applying_source(saved, args.actor)
        args.drain, args.resume, args.migrate = saved.drain, saved.resume, saved.migrate
    else:
        journeys = load(args)
        if journeys is None:
            return 1
        source = source_of(args.path, args.actor)
    if source.dirty and not args.allow_dirty:
        return fail(f"{args.path}: uncommitted changes (commit {(source.commit or 'none yet')[:12]} + edits); "
                    "commit them, or deploy anyway with --allow-dirty; nothing applied")

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        with store.deploy_lock(f"{source.actor} (apply {source.commit[:12] if source.commit else 'no commit'})",
                               timeout=args.lock_timeout):
            live = store.live_deployment()
            if saved is not None:
                refusal = moved_refusal(saved, live)
            else:
                refusal = "" if args.force or live is None else stale_refusal(source, live.commit, live.commit_label)
            if refusal:
                raise DeployError(refusal)
            if saved is not None:
                plan = await make_plan(client, store, journeys, args, whole_set=saved.whole_set, files=saved.files)
            else:
                plan = await make_plan(client, store, journeys, args)
            if plan.has_changes:
                print(format_plan(plan))
                if not args.yes and not confirm("apply these changes?"):
                    return 1
            print(format_report(await apply_plan(client, store, plan, task_queue=task_queue(), source=source)))
            return 0

    return run_action(action)
