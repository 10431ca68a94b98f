"""One visit's way through the send ledger, shared by every sending activity:
claim (with the message's links) -> transmitting -> sent | uncertain | failed,
in as few store transactions as the exactly-once rules allow, and the events
that a send or a bounce reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from temporalio.exceptions import ApplicationError

from activities.contracts import StepRef
from activities.deps import Deps
from activities.outcomes import END_OF_JOURNEY, write_outcome
from activities.smtp_delivery import PermanentFailure, TemporaryFailure, Uncertain, deliver
from activities.timing import step_now
from tracking.verp import bounce_domain, verp_address


def claim(deps: Deps, ref: StepRef, channel: str, message_id: str, links: list[str] | None = None) -> str:
    """Claim the visit and keep its message's links, in one transaction; the entry's status
    ("claimed" for a first attempt or one that never reached transmission)."""
    store = deps.store
    with store.transaction():
        entry = store.ledger_claim(ref.key, contact_id=ref.contact_id, journey_id=ref.journey_id,
                                   step_id=ref.step_id, channel=channel, message_id=message_id)
        if links is not None:
            store.save_message(message_id, contact_id=ref.contact_id, journey_id=ref.journey_id,
                               step_id=ref.step_id, channel=channel, links=links)
    return entry.status


def mark_sent(deps: Deps, ref: StepRef, event_type: str, message_id: str | None = None,
              data: dict[str, Any] | None = None, detail: str | None = None, finish: bool = False) -> None:
    """The visit went out: ledger `sent` and its event, one transaction, at the step's time;
    with `finish`, the run's completion too (so a ledger entry `sent` of a finishing send
    always means the completion is recorded: `outcomes.finished_with`)."""
    at = step_now(ref.at)
    with deps.store.transaction():
        deps.store.ledger_set_status(ref.key, "sent", detail, at=at)
        deps.store.record_event(ref.contact_id, event_type, journey_id=ref.journey_id, step_id=ref.step_id,
                                message_id=message_id, data=data, at=at)
        if finish:
            write_outcome(deps.store, ref, "completed", END_OF_JOURNEY)


async def report(deps: Deps, ref: StepRef, event_type: str, *, message_id: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
    """An event a send learned about the contact (a bounce, a refusal): through the worker's event
    path when it has one, so scoring, rules and the contact's running journeys hear it."""
    if deps.publish_event is not None:
        await deps.publish_event(ref.contact_id, event_type, message_id=message_id, data=data,
                                 journey_id=ref.journey_id, step_id=ref.step_id)
    else:
        await asyncio.to_thread(deps.store.record_event, ref.contact_id, event_type, journey_id=ref.journey_id,
                                step_id=ref.step_id, message_id=message_id, data=data, at=step_now(ref.at))


@dataclass(frozen=True)
class Transmission:
    """How an SMTP transmission ended (temporary failures raise, to be retried)."""

    uncertain: bool = False
    bounce: PermanentFailure | None = None


async def transmit(deps: Deps, ref: StepRef, message: EmailMessage, recipients: list[str]) -> Transmission:
    """Send over SMTP, marking the ledger `transmitting` just before the final "." of DATA. A 4xx
    or a connection failure before it puts the entry back to `claimed` and raises (the activity
    retries); a failure after it is `uncertain` and never resent; a 5xx comes back as a bounce."""
    store = deps.store

    async def transmitting() -> None:
        await asyncio.to_thread(store.ledger_set_status, ref.key, "transmitting")

    try:
        await deliver(deps.smtp, message, envelope_sender(deps, ref, message), recipients, transmitting)
    except TemporaryFailure as exc:
        await asyncio.to_thread(store.ledger_set_status, ref.key, "claimed", exc.reply[:200])
        raise ApplicationError(f"temporary SMTP failure: {exc}", type="SmtpTemporary") from None
    except PermanentFailure as exc:
        await asyncio.to_thread(store.ledger_set_status, ref.key, "failed", bounce_reason(exc))
        return Transmission(bounce=exc)
    except Uncertain as exc:
        await asyncio.to_thread(store.ledger_set_status, ref.key, "uncertain", str(exc))
        return Transmission(uncertain=True)
    return Transmission()


def envelope_sender(deps: Deps, ref: StepRef, message: EmailMessage) -> str:
    """MAIL FROM: the message's VERP address (tracking/verp.py), on the bounce domain (by default
    the From domain, so SPF aligns with From), so a later bounce names the message and contact;
    the From address itself for a message without our Message-ID."""
    from_header = message["From"] or deps.sender
    verp = verp_address(deps.signer, message["Message-ID"] or "", ref.contact_id, bounce_domain(from_header))
    return verp or parseaddr(from_header)[1]


def bounce_reason(exc: PermanentFailure) -> str:
    """`bounced:550 5.1.1`: codes only (it shows in the run's history)."""
    return f"bounced:{exc.code}" + (f" {exc.enhanced}" if exc.enhanced else "")
