"""The deliverability policy, one place for every source of bounces and complaints (the bounce
mailbox, `cli.py bounces ingest`, the ESP webhooks): match a report to the message, then act.

- hard bounce: the address is suppressed (`hard_bounce`), so the next send is skipped;
- soft bounce: counted; `bounces.soft_limit` of them within `bounces.soft_days` days
  (journeys/sending.yaml) suppress the address (`soft_bounces`);
- complaint: the address is suppressed (`complaint`) and email marketing consent withdrawn,
  with the report (source, key, feedback type, message) as the consent log's evidence;
- unsubscribe (reported by an ESP): email marketing consent withdrawn;
- delivery (reported by an ESP): only the event.

Each report is acted on once (`store.claim_feedback_report`, by a provider's event id or a hash
of the mail), and becomes one event (`email.bounced`, `email.complained`, `email.unsubscribed`,
`email.delivered`) published through the one event path (engine.events.publish) with the
message's journey and step, so runs, reports and exports see it. Event data holds codes and
ids only, never an address or a diagnostic text.

Matching: the VERP address first (tracking/verp.py: authenticated, names message and contact),
else a quoted Message-ID of ours. A match by Message-ID alone is refused when the report names
recipients and none of them is the contact's address (a forwarded copy, or a forged report).
An authenticated ESP webhook without either (`by_recipient`) names the contact by its recipient
address: the event is then about that contact's latest email.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy import select

from compiler.sending_model import BouncePolicy
from store import schema
from store.addresses import normalise_email
from store.records import StoreError
from store.db import utcnow
from tracking.tokens import TokenSigner
from tracking.verp import parse_verp

log = logging.getLogger(__name__)

BOUNCE, COMPLAINT, UNSUBSCRIBE, DELIVERY = "bounce", "complaint", "unsubscribe", "delivery"
EVENTS = {BOUNCE: "email.bounced", COMPLAINT: "email.complained", UNSUBSCRIBE: "email.unsubscribed",
          DELIVERY: "email.delivered"}
# applied, duplicate (acted on before), unmatched (no message of ours), ignored (nothing to do)
APPLIED, DUPLICATE, UNMATCHED, IGNORED = "applied", "duplicate", "unmatched", "ignored"

# publish(contact_id, event_type, *, data, message_id, journey_id, step_id) -> anything
Publisher = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Feedback:
    """One report, whatever it came from, reduced to what the policy needs."""

    kind: str  # bounce | complaint | unsubscribe | delivery
    key: str  # acted on once per key: "ses:<feedback id>", "mail:<sha256>", ...
    source: str  # dsn | arf | esp:ses | esp:sendgrid | esp:postmark | esp:mailgun
    hard: bool = False  # bounces: the address is gone (not: a full mailbox, a block, a delay)
    status: str = ""  # the enhanced status code when known, e.g. 5.1.1
    verp: tuple[str, ...] = ()  # addresses that may be our VERP envelope sender
    message_ids: tuple[str, ...] = ()  # Message-IDs quoted by the report
    recipients: tuple[str, ...] = ()  # the addresses the report says failed or complained
    feedback_type: str = ""  # ARF Feedback-Type, or the ESP's complaint type
    # an authenticated ESP webhook: its recipient names the contact (their latest email) when no
    # Message-ID of ours is in the payload (ESPs replace the envelope sender, and some the Message-ID)
    by_recipient: bool = False
    # what the report itself says about the complaint (reporter, arrival, source IP...): kept as proof
    # with a consent withdrawal; never an address
    proof: tuple[tuple[str, str], ...] = ()


@dataclass
class Outcome:
    status: str
    detail: str
    contact_id: int | None = None
    message_id: str | None = None
    event_id: Any = None
    suppressed: str | None = None
    consent_withdrawn: bool = False


@dataclass(frozen=True)
class _Match:
    message: Any  # store.Message
    via: str


def message_by_hex(store: Any, message_hex: str) -> Any:
    """Our message whose Message-ID is `<message_hex@...>` (a VERP token drops the domain): the
    primary key with this worker's domain first, a prefix search only if that misses."""
    exact = store.get_message(f"<{message_hex}@{os.environ.get('NURTURE_MESSAGE_DOMAIN', 'nurture.local')}>")
    if exact is not None:
        return exact
    m = schema.messages.c
    rows = store.read_rows(select(m.message_id).where(m.message_id.like(f"<{message_hex}@%")).limit(2))
    return store.get_message(rows[0][0]) if len(rows) == 1 else None


def match(store: Any, signer: TokenSigner, fb: Feedback) -> _Match | str:
    """The message the report is about, or why none."""
    for address in fb.verp:
        target = parse_verp(signer, address)
        if target is None:
            continue
        message = message_by_hex(store, target.message_hex)
        if message is not None and message.contact_id == target.contact_id and message.channel == "email":
            return _Match(message, "verp")
    for message_id in fb.message_ids:
        message = store.get_message(message_id)
        if message is None or message.channel != "email":
            continue
        if fb.recipients:
            contact = store.get_contact(message.contact_id)
            address = _normalised(getattr(contact, "email", None))
            if address is None or address not in {_normalised(r) for r in fb.recipients}:
                return "the quoted message went to another address than the report names"
        return _Match(message, "message-id")
    if fb.by_recipient:
        for address in fb.recipients:
            contact = _contact_by_email(store, address)
            latest = [m for m in store.messages_for(contact.id) if m.channel == "email"] if contact else []
            if latest:
                return _Match(latest[-1], "recipient")
    return "no VERP address or Message-ID of ours in the report"


def _contact_by_email(store: Any, address: str) -> Any:
    try:
        return store.find_contact(email=address)
    except StoreError:  # not an address
        return None


def _normalised(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return normalise_email(address)
    except StoreError:
        return address.strip().lower()


def _evidence(fb: Feedback, message_id: str) -> dict[str, Any]:
    return {"report": fb.key, "source": fb.source, "kind": fb.kind, "feedback_type": fb.feedback_type or None,
            "message_id": message_id, **({"report_fields": dict(fb.proof)} if fb.proof else {})}


def _soft_bounces_since(store: Any, contact_id: int, days: int) -> int:
    since = utcnow() - timedelta(days=days)
    return sum(1 for e in store.events_for(contact_id, type=EVENTS[BOUNCE], since=since) if not e.data.get("hard"))


def _act(store: Any, fb: Feedback, contact: Any, message_id: str, policy: BouncePolicy) -> Outcome | None:
    """The report's effects, in the caller's transaction; None when it was acted on before."""
    from engine.consent import withdraw

    if not store.claim_feedback_report(fb.key, fb.kind):
        return None
    out = Outcome(APPLIED, "", contact_id=contact.id, message_id=message_id)
    source = f"{fb.source} {fb.status or fb.feedback_type or fb.kind}".strip()
    if fb.kind == BOUNCE:
        if fb.hard:
            out.suppressed = "hard_bounce"
        elif _soft_bounces_since(store, contact.id, policy.soft_days) + 1 >= policy.soft_limit:
            out.suppressed = "soft_bounces"
            source = f"{policy.soft_limit} soft bounces in {policy.soft_days} days, last {source}"
    elif fb.kind == COMPLAINT:
        out.suppressed = "complaint"
    if out.suppressed and contact.email:
        store.suppress("email", contact.email, reason=out.suppressed, source=source)
    if fb.kind in (COMPLAINT, UNSUBSCRIBE):
        state = store.consent_state(contact.id, "email", "marketing")
        if state is None or state.status != "withdrawn":
            withdraw(store, contact.id, "email", "marketing", source=fb.source, evidence=_evidence(fb, message_id))
            out.consent_withdrawn = True
    return out


async def apply(store: Any, signer: TokenSigner, fb: Feedback, publish: Publisher,
                policy: BouncePolicy | None = None) -> Outcome:
    """Act on one report (see the module's doc); the outcome says what happened, in one line."""
    policy = policy or BouncePolicy()
    if await asyncio.to_thread(store.feedback_report_seen, fb.key):
        return Outcome(DUPLICATE, f"report {fb.key} was acted on before")
    found = await asyncio.to_thread(match, store, signer, fb)
    if isinstance(found, str):
        return Outcome(UNMATCHED, found)
    message = found.message
    contact = await asyncio.to_thread(store.get_contact, message.contact_id)
    if contact is None or getattr(contact, "erased_at", None):
        return Outcome(UNMATCHED, "the message's contact is erased", message_id=message.message_id)

    def act() -> Outcome | None:
        with store.transaction():
            return _act(store, fb, contact, message.message_id, policy)

    out = await asyncio.to_thread(act)
    if out is None:
        return Outcome(DUPLICATE, f"report {fb.key} was acted on before", contact.id, message.message_id)
    data: dict[str, Any] = {"source": fb.source, "report": fb.key, "via": found.via}
    if fb.kind == BOUNCE:
        data.update(hard=fb.hard, status=fb.status or None)
    if fb.feedback_type:
        data["feedback_type"] = fb.feedback_type
    if out.suppressed:
        data["suppressed"] = out.suppressed
    out.event_id = await publish(contact.id, EVENTS[fb.kind], data=data, message_id=message.message_id,
                                 journey_id=message.journey_id, step_id=message.step_id)
    what = [EVENTS[fb.kind]] + ([f"address suppressed ({out.suppressed})"] if out.suppressed else []) + (
        ["email marketing consent withdrawn"] if out.consent_withdrawn else [])
    out.detail = f"contact {contact.id}, message {message.message_id} (by {found.via}): " + ", ".join(what)
    return out


def store_publisher(store: Any) -> Publisher:
    """Events stored only (no Temporal): for tests and a process without a client."""

    async def publish(contact_id: int, event_type: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(store.record_event, contact_id, event_type, **kwargs)

    return publish


def event_publisher(store: Any, client_provider: Callable[[], Awaitable[Any]],
                    journeys_provider: Callable[[], dict[str, Any]] | None = None,
                    task_queue: str | None = None, search_attributes: bool = False) -> Publisher:
    """Through engine.events.publish (hooks, running journeys, event entries); if Temporal cannot
    be reached the event is still stored (journeys are not told; logged)."""

    async def publish(contact_id: int, event_type: str, **kwargs: Any) -> Any:
        from engine.events import publish as publish_event

        try:
            client = await client_provider()
        except Exception as exc:  # noqa: BLE001 - any failure to connect: degrade to storing
            log.warning("Temporal is not reachable (%s): %s stored, journeys not told", exc, event_type)
            return await asyncio.to_thread(store.record_event, contact_id, event_type, **kwargs)
        journeys = journeys_provider() if journeys_provider else None
        extra = {"task_queue": task_queue} if task_queue else {}
        published = await publish_event(client, store, contact_id, event_type, journeys=journeys,
                                        search_attributes=search_attributes, **kwargs, **extra)
        return published.event_id

    return publish
