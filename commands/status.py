"""`python cli.py status [JOURNEY]`: running runs per journey, version and step (from
Temporal visibility; may lag a second behind), and what they wait for (quiet hours, a frequency
cap, a wait or wait_for, until when: the runs' `state` query, answered by a running worker)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("status", help="count running runs per journey, version and step, and what they wait for")
    p.add_argument("journey", nargs="?", help="only this journey")
    p.add_argument("--counts", action="store_true", help="only the counts (no queries to the runs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from deploy.load import DeployError
    from deploy.plan import deployed
    from deploy.report import format_status
    from deploy.runner import run_action
    from deploy.visibility import status_counts

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        ids = [s.journey_id for s in store.list_journeys()]
        if args.journey:
            if args.journey not in ids:
                raise DeployError(f"journey {args.journey!r} is not deployed (deployed: {', '.join(ids) or 'none'})")
            ids = [args.journey]
        versions = [j for jid in ids for v in store.list_journey_versions(jid)
                    if (j := deployed(store, jid, v.version)) is not None]
        print(format_status(await status_counts(client, versions, why=not args.counts)))
        return 0

    return run_action(action)
