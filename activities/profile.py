"""Profile activities: read it for branches and goals, update it for `set`, plan
calendar waits in the contact's time zone, and record step outcomes for reports."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from activities.contracts import OutcomeInput, PlanWaitInput, PlanWaitResult, ProfileInput, UpdateInput
from activities.deps import Deps
from activities.outcomes import write_outcome
from activities.send_gate import contact_timezone
from activities.timing import next_in_window, parse_time, step_now, zone


def read_profile(deps: Deps, request: int | ProfileInput) -> dict[str, Any]:
    """Score, stage, tags, attributes, consent: ids and profile only, never contact details.
    Given a ProfileInput, behavioural fields need its profiling consent (activities.profiling)."""
    if isinstance(request, int):
        return deps.store.read_profile(request, thresholds=deps.temperature_thresholds)
    from activities.profiling import guard_profile

    profile = deps.store.read_profile(request.ref.contact_id, thresholds=deps.temperature_thresholds)
    return guard_profile(deps.store, profile, request.ref, request.profiling)


def update_profile(deps: Deps, inp: UpdateInput) -> dict[str, Any]:
    """Apply a `set` step once per visit: the changes and the ledger entry commit together, so
    a retried attempt (after a crash at any point) either finds it done or does it all."""
    store, ref = deps.store, inp.ref
    with store.transaction():
        _apply_once(store, inp)
    return store.read_profile(ref.contact_id, thresholds=deps.temperature_thresholds)


def _apply_once(store: Any, inp: UpdateInput) -> None:
    ref = inp.ref
    entry = store.ledger_claim(
        ref.key, contact_id=ref.contact_id, journey_id=ref.journey_id, step_id=ref.step_id,
        channel="profile", message_id="",
    )
    if entry.status != "sent":
        reason = f"journey {ref.journey_id} step {ref.step_id}"
        if inp.stage:
            store.set_stage(ref.contact_id, inp.stage, reason=reason)
        if inp.score_set is not None:
            store.set_score(ref.contact_id, inp.score_set, reason=reason)
        if inp.score_add:
            store.add_score(ref.contact_id, inp.score_add, reason=reason)
        if inp.tags_add:
            store.add_tags(ref.contact_id, inp.tags_add)
        if inp.tags_remove:
            store.remove_tags(ref.contact_id, inp.tags_remove)
        if inp.attributes:
            store.set_attributes(ref.contact_id, inp.attributes)
        store.ledger_set_status(ref.key, "sent")


def plan_wait(deps: Deps, inp: PlanWaitInput) -> PlanWaitResult:
    """When a calendar-aware wait ends, in UTC; empty with a reason if it cannot be planned."""
    now = parse_time(inp.now)
    contact = deps.store.get_contact(inp.contact_id)
    tz = zone(contact_timezone(contact, inp.timezone) if contact else inp.timezone, inp.timezone)
    if inp.duration_s is not None:
        wake = now + timedelta(seconds=inp.duration_s)
    elif inp.until:
        wake = parse_time(inp.until)
    elif inp.until_attribute:
        value = ((contact.attributes or {}) if contact else {}).get(inp.until_attribute)
        try:
            wake = parse_time(str(value)) if value else None
        except ValueError:
            wake = None
        if wake is None:
            return PlanWaitResult(reason=f"attribute_missing:{inp.until_attribute}")
    else:
        wake = now
    wake = wake + timedelta(seconds=inp.offset_s)
    if inp.window_days is not None:
        wake = next_in_window(max(wake, now), tz, tuple(inp.window_days), inp.window_from_min, inp.window_to_min)
    if wake <= now:
        return PlanWaitResult(reason="in_past")
    return PlanWaitResult(wake_at=wake.astimezone(timezone.utc).isoformat())


def record_outcome(deps: Deps, inp: OutcomeInput) -> None:
    """A step outcome for reports, in one transaction (activities.outcomes)."""
    with deps.store.transaction():
        write_outcome(deps.store, inp.ref, inp.outcome, inp.detail)
