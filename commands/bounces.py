"""`python cli.py bounces ingest FILE.eml... | -`: bounce and complaint reports exported or piped
from a real mailbox (e.g. a Postfix pipe transport for `bounce+*`), read and acted on as the
bounce listener does (marketing/bounce_mail.py, marketing/bounces.py). One line per mail:

    FILE: applied: contact 12, message <...> (by verp): email.bounced, address suppressed (hard_bounce)
    FILE: duplicate | unmatched | ignored: why

Events go through the one event path when Temporal answers (TEMPORAL_ADDRESS), else they are
stored only (said once). Exit 1 when a file cannot be read (the others are still processed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bounces", help="bounce and complaint reports (DSN, ARF) from a mailbox")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ingest = sub.add_parser("ingest", help="read .eml files (or - for one mail on standard input) and act on them")
    ingest.add_argument("files", nargs="+", metavar="FILE", help=".eml files, or - for standard input")
    ingest.set_defaults(func=run)


def read_mails(files: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(name, bytes) of each readable file and a one-line error for each unreadable one."""
    mails, errors = [], []
    for name in files:
        if name == "-":
            mails.append(("<stdin>", sys.stdin.buffer.read()))
            continue
        try:
            mails.append((name, Path(name).read_bytes()))
        except OSError as exc:
            errors.append(f"{name}: cannot read: {exc.strerror or exc}")
    return mails, errors


class OnceClient:
    """A client provider that tries to connect once and remembers a failure (one warning)."""

    def __init__(self) -> None:
        self._client: Any = None
        self._failed: str | None = None

    async def __call__(self) -> Any:
        import asyncio

        from worker import connect

        if self._failed is not None:
            raise RuntimeError(self._failed)
        if self._client is None:
            try:
                self._client = await asyncio.wait_for(connect(), timeout=5)
            except Exception as exc:  # noqa: BLE001 - any failure: events stored only
                self._failed = str(exc) or type(exc).__name__
                print(f"warning: Temporal not reachable ({self._failed}): events stored, running journeys not told",
                      file=sys.stderr)
                raise
        return self._client


def run(args: argparse.Namespace) -> int:
    import asyncio

    from compiler.sending_model import SendingRulesError, default_sending_rules
    from deploy.load import DeployError
    from deploy.runner import fail, open_store
    from devstack.stack import deployed_journeys
    from marketing.bounce_mail import ingest
    from marketing.bounces import event_publisher
    from tracking.tokens import signer_from_env

    mails, errors = read_mails(args.files)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    try:
        policy = default_sending_rules().bounces
        store = open_store()
    except (DeployError, SendingRulesError) as exc:
        return fail(str(exc).splitlines()[0])

    async def main() -> None:
        publish = event_publisher(store, OnceClient(), lambda: deployed_journeys(store), search_attributes=True)
        signer = signer_from_env()
        for name, raw in mails:
            out = await ingest(store, signer, raw, publish, policy=policy)
            print(f"{name}: {out.status}: {out.detail}")

    try:
        asyncio.run(main())
    finally:
        store.close()
    sys.stdout.flush()
    return 1 if errors else 0
