"""The checks every outbound message passes, in order, at the moment of sending:
contact still there, an address, not already sent (ledger), consent and suppression,
quiet hours, frequency cap. Shared by email and SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from activities.consent import decide
from activities.contracts import SendInput, SendResult
from activities.deps import Deps
from activities.outcomes import finished_with
from activities.quiet_hours import NoSendWindow, postpone_until
from activities.timing import step_now, zone

# ledger states meaning "this visit already went out (or may have)": never send again
ALREADY = ("sent", "transmitting", "uncertain")


@dataclass(frozen=True)
class Cleared:
    contact: Any  # store.Contact
    address: str
    timezone: str


def contact_timezone(contact: Any, fallback: str) -> str:
    """The contact's stored zone, else their phone number's, else the journey's."""
    if getattr(contact, "timezone", None):
        return contact.timezone
    if getattr(contact, "phone", None):
        from activities.sms_text import region_timezone

        tz = region_timezone(contact.phone)
        if tz:
            return tz
    return fallback


def previous_outcome(deps: Deps, key: str, finish: bool = False) -> SendResult | None:
    """What an earlier attempt of this very visit did, if it got far enough to matter."""
    entry = deps.store.ledger_get(key)
    if entry is None:
        return None
    if entry.status in ALREADY:
        if entry.status == "transmitting":  # the attempt died during transmission
            deps.store.ledger_set_status(key, "uncertain", "attempt interrupted during transmission")
        reason = "already_sent" if entry.status == "sent" else "uncertain"
        return SendResult("sent", reason=reason, message_id=entry.message_id or "",
                          finished=finished_with(entry.status, finish))
    if entry.status == "failed":
        return SendResult("failed", reason=entry.detail or "failed", message_id=entry.message_id or "")
    return None


def check(deps: Deps, inp: SendInput, channel: str, now: datetime | None = None) -> Cleared | SendResult:
    store = deps.store
    contact = store.get_contact(inp.ref.contact_id)
    if contact is None or getattr(contact, "erased_at", None):
        return SendResult("skipped", reason="no_contact")
    address = contact.email if channel == "email" else contact.phone
    if not address:
        return _recorded(store, inp, SendResult("skipped", reason="no_address"))
    earlier = previous_outcome(deps, inp.ref.key, inp.finish)
    if earlier is not None:
        return earlier
    decision = decide(
        store, inp.ref, channel, inp.purpose, address, require_confirmed=channel in deps.require_confirmed
    )
    if not decision.granted:
        return SendResult("skipped", reason=decision.reason)
    now = now or step_now(inp.ref.at)
    tz_name = contact_timezone(contact, inp.timezone)
    try:  # the journey's quiet hours and the channel's send window for the contact's region
        wait = postpone_until(contact, channel, now, zone(tz_name, inp.timezone), inp.quiet_hours,
                              deps.sending, deps.sms.default_region)
    except NoSendWindow:
        return _recorded(store, inp, SendResult("skipped", reason="no_send_window"))
    if wait is not None:
        return _recorded(store, inp, SendResult("postponed", reason=wait[1], retry_at=wait[0].isoformat()))
    if inp.frequency_cap:
        limit, per_s = inp.frequency_cap
        since = now - timedelta(seconds=per_s)
        times = store.send_times(contact.id, channel, since=since)
        if len(times) >= limit:
            retry = min(times) + timedelta(seconds=per_s + 1)
            return _recorded(store, inp, SendResult("postponed", reason="frequency_cap", retry_at=retry.isoformat()))
    return Cleared(contact=contact, address=address, timezone=tz_name)


def _recorded(store: Any, inp: SendInput, result: SendResult) -> SendResult:
    """Keep why a send did not go now (store.step_decisions), for `cli.py explain`."""
    ref = inp.ref
    store.record_step_decision(
        ref.contact_id, workflow_id=ref.workflow_id, run_id=ref.run_id, step_id=ref.step_id, visit=ref.visit,
        decision=result.status, reason=result.reason,
        until=datetime.fromisoformat(result.retry_at) if result.retry_at else None, at=step_now(ref.at),
    )
    return result


def template_context(deps: Deps, inp: SendInput | Any, journey_title: str = "") -> dict[str, Any]:
    """What a template sees: the contact and profile (from the store) plus the run's ids."""
    context = dict(deps.store.template_context(inp.ref.contact_id, thresholds=deps.temperature_thresholds))
    context["journey"] = {"id": inp.ref.journey_id, "title": journey_title}
    context["step"] = {"id": inp.ref.step_id}
    return context
