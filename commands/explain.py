"""`python cli.py explain CONTACT [JOURNEY] [--message ID] [--format text|json]`: why a contact got,
or did not get, a message: a timeline of every decision about them (entries, sends with their
consent basis, skips, postponements, waits, branches, events, score and stage changes, outcomes),
their runs' current state, and why they are not in the other journeys. See docs/explain.md."""

from __future__ import annotations

import argparse

from commands.contact_arg import HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("explain", help="why a contact got, or did not get, a message (timeline of decisions)")
    p.add_argument("contact", metavar="CONTACT", help=HELP)
    p.add_argument("journey", nargs="?", metavar="JOURNEY", help="only this journey")
    p.add_argument("--message", metavar="ID", help="only this message (its Message-ID, with or without <>)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="json: the stable shape of docs/explain.md")
    p.add_argument("--no-temporal", action="store_true", help="the store's part only (no Temporal client)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from commands.contact_arg import contact_id
    from deploy.load import DeployError
    from deploy.runner import run_action
    from explain.build import explain, live_contact
    from explain.render import to_json, to_text

    async def action(_client, store) -> int:  # type: ignore[no-untyped-def]
        import asyncio

        from deploy.runner import _connect

        cid = contact_id(store, args.contact, erased=True)
        await asyncio.to_thread(live_contact, store, cid)  # erased or gone: one line, exit 1
        if args.journey is not None and not store.list_journey_versions(args.journey):
            known = ", ".join(s.journey_id for s in store.list_journeys()) or "none"
            raise DeployError(f"journey {args.journey!r} is not deployed (deployed: {known})")
        client = None
        if not args.no_temporal:
            try:
                client = await _connect()
            except DeployError:
                client = None  # the store's part still answers; the output says Temporal was not read
        ex = await explain(store, client, cid, journey=args.journey, message_id=args.message)
        print(to_json(ex) if args.format == "json" else to_text(ex))
        return 0

    return run_action(action, needs_client=False)
