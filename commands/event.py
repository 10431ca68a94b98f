"""`python cli.py event CONTACT TYPE [--data JSON] [--at ISO8601]`: record an event about a contact
through the one event path (engine.events.publish): stored, the contact's running journeys told,
and the deployed journeys that this event enters started. CONTACT is an id, an email or an
external id. `--at` imports past activity with its own time (segments and scoring see that
time); older than engine.event_time.BACKFILL_AFTER it is backfilled: scored, acts on nothing now."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from engine.event_time import BACKFILL_AFTER

BACKFILL_TEXT = f"older than {int(BACKFILL_AFTER.total_seconds() // 3600)}h"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("event", help="record an event about a contact (signals runs, starts event journeys)")
    p.add_argument("contact", metavar="CONTACT", help="contact id, email or external id")
    p.add_argument("type", metavar="TYPE", help="event type, e.g. trial.started")
    p.add_argument("--data", default="{}", help='JSON object with the event data, e.g. \'{"plan": "team"}\'')
    p.add_argument("--at", metavar="ISO8601", help="when it happened, with its zone, e.g. 2024-03-01T09:30:00Z "
                   f"(default now); {BACKFILL_TEXT}: recorded and scored, no journey started or signalled")
    p.set_defaults(func=run)


def parse_args(args: argparse.Namespace) -> tuple[str, dict, datetime | None]:
    """(type, data, time or None for now) or SystemExit with the reason, before anything is touched."""
    from engine.event_time import EventTimeError, parse_event_time
    from tracking.events_api import EVENT_TYPE

    if not EVENT_TYPE.match(args.type):
        raise SystemExit(f"error: bad event type {args.type!r}: lowercase words separated by dots, e.g. trial.started")
    try:
        data = json.loads(args.data)
    except ValueError as exc:
        raise SystemExit(f"error: --data is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SystemExit("error: --data must be a JSON object")
    try:
        at = None if args.at is None else parse_event_time(args.at)
    except EventTimeError as exc:
        raise SystemExit(f"error: --at: {exc}") from None
    return args.type, data, at


def run(args: argparse.Namespace) -> int:
    from commands.contact_arg import contact_id as find_contact_id
    from deploy.runner import run_action
    from devstack.stack import deployed_journeys
    from engine.events import publish

    event_type, data, at = parse_args(args)

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        contact_id = find_contact_id(store, args.contact)  # one line and exit 1 if nobody
        journeys = deployed_journeys(store)
        result = await publish(client, store, contact_id, event_type, data=data, journeys=journeys,
                               search_attributes=True, at=at)
        print(f"event {result.event_id}: {event_type} for contact {contact_id}" + (f" at {at.isoformat()}" if at else ""))
        if result.backfilled:
            print(f"backfilled ({BACKFILL_TEXT}): recorded and scored; no journey started, no wait satisfied")
        print(f"signalled {result.signalled} running journey run(s)")
        for change in sorted(set(result.changed)):
            print(f"profile changed: {change}")
        for enrolled in result.enrolled:
            print(f"{enrolled.status}: {enrolled.workflow_id}" + (f" ({enrolled.reason})" if enrolled.reason else ""))
        if not result.enrolled and not result.backfilled:
            print(f"no deployed journey enters on {event_type}")
        return 0

    code = run_action(action)
    sys.stdout.flush()
    return code
