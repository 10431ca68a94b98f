"""`python cli.py enroll JOURNEY (--contact CONTACT | --csv FILE | --segment ID)`: start runs of
the deployed journey, with a progress bar for bulk work and a summary. A CONTACT (an id, an
email or an external id, commands/contact_arg.py) that names nobody stops everything before
any run starts; unknown rows of a CSV are counted in the summary."""

from __future__ import annotations

import argparse

from commands.contact_arg import HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("enroll", aliases=["enrol"], help="enrol contacts in a deployed journey")
    p.add_argument("journey")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--contact", action="append", metavar="CONTACT", help=f"a {HELP} (repeatable)")
    who.add_argument("--csv", metavar="FILE", help="CSV with a contact_id, external_id or email column")
    who.add_argument("--segment", metavar="ID", help="the members of a segment (marketing.segments)")
    p.add_argument("--concurrency", type=int, default=20, help="starts in flight at once (default 20)")
    p.set_defaults(func=run)


def _contacts(store, args: argparse.Namespace) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    from activities.sweep import NO_SEGMENTS, segment_members_function
    from deploy.enrolment import read_csv, resolve_ids
    from deploy.load import DeployError

    if args.csv:
        return read_csv(store, args.csv)
    if args.segment:
        members_of = segment_members_function()
        if members_of is None:
            raise DeployError(NO_SEGMENTS)
        return resolve_ids(store, list(members_of(store, args.segment)))
    from commands.contact_arg import contact_id

    return list(dict.fromkeys(contact_id(store, text) for text in args.contact)), []


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from deploy.enrolment import active_journey, enrol_many
    from deploy.load import DeployError
    from deploy.runner import run_action, task_queue

    if args.concurrency < 1:
        raise SystemExit("error: --concurrency must be at least 1")

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        journey = active_journey(store, args.journey)
        ids, unknown = _contacts(store, args)
        if not ids and not unknown:
            raise DeployError("no contacts to enrol")
        with Progress(transient=True, disable=len(ids) < 2) as progress:
            task = progress.add_task(f"enrolling in {journey.id}", total=len(ids))
            summary = await enrol_many(client, store, journey, ids, concurrency=args.concurrency, task_queue=task_queue(),
                                       on_done=lambda: progress.advance(task))
        summary.unknown = unknown
        print(f"{journey.id} @ {journey.version}")
        print("\n".join(summary.lines()))
        return 0 if ids else 1  # every contact unknown

    return run_action(action)
