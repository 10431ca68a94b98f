"""`python cli.py contacts export CONTACT` (everything held about the person, JSON) and
`python cli.py contacts erase CONTACT [--yes]` (erase, keep only suppression hashes and an audit
line, terminate running journeys). CONTACT: an id, an email or an external id
(commands/contact_arg.py). Added to the `contacts` command by commands/contacts.py."""

from __future__ import annotations

import argparse
import json
import sys

from commands.contact_arg import HELP


def add_gdpr_actions(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser("export", help="everything held about a contact, as JSON (GDPR access)")
    exp.add_argument("contact", metavar="CONTACT", help=HELP)
    exp.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
    exp.set_defaults(func=run_export)
    era = sub.add_parser("erase", help="erase a contact (GDPR) and stop their running journeys")
    era.add_argument("contact", metavar="CONTACT", help=HELP)
    era.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    era.set_defaults(func=run_erase)


def run_export(args: argparse.Namespace) -> int:
    from commands.contact_arg import contact_id
    from store import Store, StoreError

    try:
        with Store.open(args.db) as store:
            data = store.export_contact(contact_id(store, args.contact, erased=True))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    print()
    return 0


def _confirmed(contact_id: int) -> bool:
    answer = input(f"Erase contact {contact_id} for good? Type its id to confirm: ").strip()
    return answer == str(contact_id)


def run_erase(args: argparse.Namespace) -> int:
    from commands.contact_arg import contact_id
    from deploy.runner import fail, run_action
    from engine.erasure import erase

    if not args.yes and not sys.stdin.isatty():
        return fail("erasing needs --yes when not run interactively")

    async def action(client, store) -> int:  # type: ignore[no-untyped-def]
        cid = contact_id(store, args.contact, erased=True)
        if not args.yes and not _confirmed(cid):
            return fail("not confirmed: nothing erased")
        done = await erase(client, store, cid)
        if not done.removed:
            print(f"contact {cid} was already erased")
        else:
            print(f"erased contact {cid}: " + ", ".join(f"{k} {v}" for k, v in sorted(done.removed.items()) if v))
        print(f"stopped {len(done.stopped)} running journey run(s)")
        for workflow_id, error in done.failed:
            fail(f"could not stop {workflow_id}: {error}")
        return 1 if done.failed else 0

    return run_action(action)
