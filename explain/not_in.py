"""Why the contact is not in a deployed journey: entry event never seen, segment condition false
(with the values that made it false), re-entry window, journey drained, and what would stop
its messages anyway (suppressed address, no consent for the purpose)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from compiler.ir import Journey, SendEmail, SendSms
from deploy.visibility import when
from explain.model import NotIn, RunView
from store.records import Contact, Event

GRANTING = ("granted", "confirmed")


def _reason(code: str, text: str, **data: Any) -> dict[str, Any]:
    return {"code": code, "text": text, **({"data": data} if data else {})}


def _entry_reasons(store: Any, contact: Contact, journey: Journey, events: list[Event], now: datetime) -> list[dict[str, Any]]:
    entry = journey.entry
    if entry.kind == "event" and entry.event:
        seen = [e for e in events if e.type == entry.event]
        if not seen:
            return [_reason("entry_event_never_seen", f"entry event {entry.event} never seen", event=entry.event)]
        human = [e for e in seen if not e.data.get("likely_bot")]
        if not human:
            return [_reason("entry_event_only_bots", f"entry event {entry.event} seen only from likely bots",
                            event=entry.event)]
        last = human[-1]
        return [_reason("entry_event_seen", f"entry event {entry.event} last seen {when(last.at.isoformat())} "
                        f"(event {last.id}) without starting a run", event=entry.event, event_id=last.id)]
    if entry.kind == "segment" and entry.segment:
        return [_segment_reason(store, contact, entry.segment, now)]
    return [_reason("manual_entry", "enters only when enrolled (cli.py enroll, a rule or the API); never enrolled")]


def _segment_reason(store: Any, contact: Contact, segment_id: str, now: datetime) -> dict[str, Any]:
    from marketing.segments import ConfigError, SegmentError, explain_segment

    try:
        verdict = explain_segment(store, segment_id, contact.id, now=now)
    except (SegmentError, ConfigError) as exc:
        return _reason("segment_unknown", f"segment {segment_id}: {exc}", segment=segment_id)
    if verdict.result:
        return _reason("segment_member", f"in segment {segment_id} now: the next sweep enrols", segment=segment_id)
    leaves = verdict.false_leaves()
    said = "; ".join(f"{v.test} is {str(v.result).lower()} (has {v.value!r})" for v in leaves)
    return _reason("segment_false", f"segment {segment_id} condition false: {said}", segment=segment_id,
                   leaves=[{"test": v.test, "result": v.result, "value": v.value} for v in leaves])


def _reentry(journey: Journey, last: RunView, now: datetime) -> dict[str, Any] | None:
    rule = journey.entry.reentry
    if last.status == "running" or rule == "always":
        return None
    if rule == "after" and journey.entry.reentry_after_s is not None:
        until = last.started_at + timedelta(seconds=journey.entry.reentry_after_s)
        if until > now:
            return _reason("reentry_window", f"re-entry window until {when(until.isoformat())} (entered "
                           f"{when(last.started_at.isoformat())})", until=until.isoformat())
        return None
    return _reason("reentry_never", f"was in it (entered {when(last.started_at.isoformat())}); re-entry: never")


def _channel_reasons(store: Any, contact: Contact, journey: Journey) -> list[dict[str, Any]]:
    """Suppression and consent for each channel the journey sends on: a run would skip its messages."""
    out = []
    channels = {"email": any(isinstance(s, SendEmail) for s in journey.steps),
                "sms": any(isinstance(s, SendSms) for s in journey.steps)}
    for channel, used in channels.items():
        address = contact.email if channel == "email" else contact.phone
        if not used or not address:
            continue
        suppressed = store.suppression_reason(channel, address)
        if suppressed:
            out.append(_reason("suppressed", f"{channel} address suppressed ({suppressed})", channel=channel))
        purpose = journey.policy.purpose_for(channel) or "marketing"
        if purpose == "transactional":
            continue
        state = store.consent_state(contact.id, channel, purpose)
        if state is None:
            out.append(_reason("no_consent", f"no {channel}/{purpose} consent on record", channel=channel,
                               purpose=purpose))
        elif state.status not in GRANTING:
            out.append(_reason("no_consent", f"{channel}/{purpose} consent {state.status} since "
                               f"{when(state.at.isoformat())} by {state.source}", channel=channel, purpose=purpose))
    return out


def not_in(store: Any, contact: Contact, runs: list[RunView], events: list[Event], now: datetime) -> list[NotIn]:
    """For each deployed journey with an active version that the contact is not running in."""
    out = []
    for state in store.list_journeys():
        if not state.active_version or state.state == "removed":
            continue
        mine = [r for r in runs if r.journey == state.journey_id]
        if any(r.status != "finished" for r in mine):
            continue  # in it (or maybe: Temporal says at the next step)
        ir = store.get_journey_version(state.journey_id, state.active_version)
        if ir is None:
            continue
        journey = Journey.from_dict(ir)
        reasons = []
        if state.state == "draining":
            reasons.append(_reason("drained", "journey draining: no new entries"))
        if mine:
            reentry = _reentry(journey, mine[-1], now)
            if reentry:
                reasons.append(reentry)
        else:
            reasons += _entry_reasons(store, contact, journey, events, now)
        reasons += _channel_reasons(store, contact, journey)
        if mine and not reasons:
            reasons.append(_reason("finished", f"its run finished ({mine[-1].outcome}); it may enter again"))
        out.append(NotIn(state.journey_id, reasons))
    return out
