"""`python cli.py anonymous purge [--days N]`: erase the anonymous profiles (website visitors the
Segment-compatible API saw, store/ingest.py) that no identify named within N days of their last
activity (default NURTURE_ANONYMOUS_TTL_DAYS, else 90): they are personal data too. It also forgets
the ingested message ids older than MESSAGE_IDS_DAYS (a client retries within minutes; the table
stays small). Run it daily (cron, or the deployment's scheduler); `anonymous list` shows how many
are due."""

from __future__ import annotations

import argparse
import os
import sys

TTL_ENV = "NURTURE_ANONYMOUS_TTL_DAYS"
DEFAULT_TTL_DAYS = 90
MESSAGE_IDS_DAYS = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("anonymous", help="anonymous website profiles: purge the ones never identified")
    sub = p.add_subparsers(dest="anonymous_command", required=True, metavar="ACTION")
    for name, text in (("purge", "erase anonymous profiles inactive for DAYS (events, ids, scores: everything)"),
                       ("list", "count anonymous profiles, and those a purge would erase")):
        q = sub.add_parser(name, help=text, description=text)
        q.add_argument("--days", type=int, default=None,
                       help=f"inactive for more than this many days (default: {TTL_ENV} or {DEFAULT_TTL_DAYS})")
        q.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
        q.set_defaults(func=run, action=name)


def ttl_days(given: int | None) -> int:
    """The --days value, else NURTURE_ANONYMOUS_TTL_DAYS, else 90; ValueError when not a positive integer."""
    text = str(given) if given is not None else os.environ.get(TTL_ENV, "").strip() or str(DEFAULT_TTL_DAYS)
    if not text.isdigit() or int(text) < 1:
        source = "--days" if given is not None else TTL_ENV
        raise ValueError(f"{source} must be a whole number of days, at least 1 (got {text!r})")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta, timezone

    from store import Store, StoreError

    try:
        days = ttl_days(args.days)
        before = datetime.now(timezone.utc) - timedelta(days=days)
        with Store.open(args.db) as store:
            if args.action == "list":
                print(f"{len(store.stale_anonymous(datetime.now(timezone.utc) + timedelta(days=1)))} anonymous "
                      f"profile(s), {len(store.stale_anonymous(before))} inactive for more than {days} days")
                return 0
            erased = store.purge_anonymous(before)
            forgotten = store.forget_messages(datetime.now(timezone.utc) - timedelta(days=MESSAGE_IDS_DAYS))
    except (ValueError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"purged {erased} anonymous profile(s) inactive for more than {days} days; "
          f"forgot {forgotten} message id(s) older than {MESSAGE_IDS_DAYS} days")
    return 0
