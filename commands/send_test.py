"""`python cli.py send-test JOURNEY STEP --to ADDRESS [--contact ID|JSON]`: one real message through
the configured relay (NURTURE_SMTP_*), built like the step's send but marked as a test: Subject
"[TEST] ...", links left as written (no click or open tracking; unsubscribe links that change
nothing), and nothing recorded (no ledger entry, no consent decision, no event: reports never
count it). Without --contact it renders for a contact with only ADDRESS."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from contextlib import ExitStack

TEST_PREFIX = "[TEST] "


def register(subparsers: argparse._SubParsersAction) -> None:
    from commands.step_email import add_arguments

    p = subparsers.add_parser("send-test", help="send one test of a step's email to ADDRESS through the relay")
    add_arguments(p, contact_required=False)
    p.add_argument("--to", required=True, metavar="ADDRESS", help="who gets the test (your own inbox)")
    p.set_defaults(func=run)


async def _deliver(config: object, message: object, recipient: str) -> None:
    from email.utils import parseaddr

    from activities.smtp_delivery import deliver

    async def nothing_to_mark() -> None:  # no ledger for a test
        return None

    await deliver(config, message, parseaddr(str(message["From"]))[1], [recipient], nothing_to_mark)  # type: ignore[index, arg-type]


def run(args: argparse.Namespace) -> int:
    from activities.smtp_delivery import PermanentFailure, TemporaryFailure, Uncertain
    from commands.step_email import StepEmailError, build
    from compiler.sender import address_problem

    to = args.to.strip()
    problem = address_problem(to)
    if problem or "<" in to:
        print(f"error: --to {to!r} is not an email address{': ' + problem if problem else ''}", file=sys.stderr)
        return 1
    with ExitStack() as resources:
        try:
            made = build(args, resources, run=f"test-{uuid.uuid4().hex[:12]}", to=to, tracking=False,
                         subject_prefix=TEST_PREFIX)
        except StepEmailError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        smtp = made.deps.smtp
        relay = f"{smtp.host}:{smtp.port}"
        try:
            asyncio.run(_deliver(smtp, made.built.message, to))
        except PermanentFailure as exc:
            print(f"error: {relay} refused the test: {exc.code} {exc.enhanced} {exc.message}".rstrip(), file=sys.stderr)
            return 1
        except (TemporaryFailure, Uncertain) as exc:
            print(f"error: {relay}: {getattr(exc, 'reply', '') or exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"error: cannot reach the SMTP relay {relay} (NURTURE_SMTP_HOST/PORT): {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
    print(f"sent a test of {made.built.message_id} to {to} via {relay}: {made.subject}")
    return 0
