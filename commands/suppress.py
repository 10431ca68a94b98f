"""`python cli.py suppress import FILE --channel email|sms --reason dnc --source "Robinson list"`
and `python cli.py suppress check ADDRESS`: do-not-contact lists, kept as keyed hashes only."""

from __future__ import annotations

import argparse
import sys

REASONS = ("dnc", "manual", "complaint", "unsubscribe", "stop", "hard_bounce")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("suppress", help="import do-not-contact lists, check an address")
    sub = p.add_subparsers(dest="suppress_command", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="suppress every address of a list (one per line, or a CSV column)")
    imp.add_argument("file", help="the list: one address per line, or a CSV with a header row")
    imp.add_argument("--channel", required=True, choices=("email", "sms"))
    imp.add_argument("--reason", default="dnc", choices=REASONS, help="why (default: dnc, do not contact)")
    imp.add_argument("--source", required=True, help='where the list comes from, e.g. "Robinson list 2024-06"')
    imp.add_argument("--column", help="the CSV column holding the addresses (default: email / phone ...)")
    imp.add_argument("--default-region", metavar="CC", help="country for numbers without +, e.g. ES")
    imp.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
    imp.set_defaults(func=run_import)
    chk = sub.add_parser("check", help="is ADDRESS suppressed? (exit 0 yes, 1 no)")
    chk.add_argument("address")
    chk.add_argument("--channel", choices=("email", "sms"), help="default: email if ADDRESS has @, else sms")
    chk.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
    chk.set_defaults(func=run_check)


def run_import(args: argparse.Namespace) -> int:
    from marketing.suppression_lists import ListError, import_list
    from store import Store, StoreError

    if not args.source.strip():
        print("error: --source must not be empty", file=sys.stderr)
        return 2
    try:
        with Store.open(args.db) as store:
            result = import_list(store, args.file, args.channel, reason=args.reason, source=args.source.strip(),
                                 column=args.column, default_region=args.default_region)
    except (ListError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.line(args.channel))
    for number, reason in result.invalid[:10]:
        print(f"  line {number}: {reason}", file=sys.stderr)
    if len(result.invalid) > 10:
        print(f"  ... {len(result.invalid) - 10} more invalid line(s)", file=sys.stderr)
    return 0


def run_check(args: argparse.Namespace) -> int:
    from store import Store, StoreError

    channel = args.channel or ("email" if "@" in args.address else "sms")
    try:
        with Store.open(args.db) as store:
            reason = store.suppression_reason(channel, args.address)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if reason is None:
        print(f"not suppressed on {channel}")
        return 1
    print(f"suppressed on {channel} ({reason})")
    return 0
