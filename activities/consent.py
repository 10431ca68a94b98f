"""The consent decision taken inside every activity that contacts or discloses.

Decided at the moment of the step, from the append-only consent log and the
suppression list, and recorded with its basis so it can be proven later.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.contracts import StepRef

TRANSACTIONAL = "transactional"
GRANTING = ("granted", "confirmed")


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str  # "" when granted; no_consent | suppressed | unconfirmed
    basis: str
    consent_event_id: int | None = None


def decide(
    store,
    ref: StepRef,
    channel: str,
    purpose: str,
    address: str | None,
    *,
    require_confirmed: bool = False,
) -> Decision:
    """May this step use `channel` for `purpose` with this contact, now? Recorded either way."""
    decision = _decide(store, ref.contact_id, channel, purpose, address, require_confirmed)
    store.record_consent_decision(
        ref.contact_id,
        workflow_id=ref.workflow_id,
        run_id=ref.run_id,
        step_id=ref.step_id,
        channel=channel,
        purpose=purpose,
        granted=decision.granted,
        basis=decision.basis,
        consent_event_id=decision.consent_event_id,
    )
    return decision


def _decide(store, contact_id: int, channel: str, purpose: str, address: str | None, require_confirmed: bool) -> Decision:
    if address:
        suppressed = store.suppression_reason(channel, address)
        if suppressed:
            return Decision(False, "suppressed", f"address suppressed ({suppressed})")
    if purpose == TRANSACTIONAL:
        return Decision(True, "", "transactional message: no marketing consent needed")
    state = store.consent_state(contact_id, channel, purpose)
    if state is None:
        return Decision(False, "no_consent", f"no {channel}/{purpose} consent on record")
    if state.status not in GRANTING:
        return Decision(False, "no_consent", f"{channel}/{purpose} consent {state.status}", state.event_id)
    if require_confirmed and state.status != "confirmed":
        return Decision(False, "unconfirmed", f"{channel}/{purpose} consent not confirmed (double opt-in)", state.event_id)
    return Decision(True, "", f"{channel}/{purpose} consent {state.status} via {state.source}", state.event_id)
