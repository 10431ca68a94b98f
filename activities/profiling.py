"""Profiling consent for steps that use behavioural data (branch, split, goal on score,
scores, temperature): decided inside `read_profile` when the journey's policy names a
profiling purpose (`policy.consent.profiling: profiling`), and recorded.

Without that consent the profile is returned with its behavioural fields neutralised
(score 0, scores {}, temperature "cold"), so a branch on them takes its cold / default way.
"""

from __future__ import annotations

from typing import Any

from activities.consent import GRANTING
from activities.contracts import StepRef

CHANNEL = "profiling"  # the key under policy.consent, and the decision's channel
NEUTRAL = {"score": 0, "scores": {}, "temperature": "cold"}


def decide_profiling(store: Any, ref: StepRef, purpose: str) -> tuple[bool, str, int | None]:
    """(granted, basis, consent event id): granted on some channel and withdrawn on none."""
    states = [by[purpose] for by in store.consent_states(ref.contact_id).values() if purpose in by]
    refused = next((s for s in states if s.status not in GRANTING), None)
    if refused is not None:
        return False, f"{purpose} consent {refused.status}", refused.event_id
    if not states:
        return False, f"no {purpose} consent on record", None
    latest = max(states, key=lambda s: (s.at, s.event_id))
    return True, f"{purpose} consent {latest.status} via {latest.source}", latest.event_id


def guard_profile(store: Any, profile: dict[str, Any], ref: StepRef, purpose: str) -> dict[str, Any]:
    """The profile as the step may use it; the decision is recorded either way."""
    granted, basis, event_id = decide_profiling(store, ref, purpose)
    store.record_consent_decision(
        ref.contact_id, workflow_id=ref.workflow_id, run_id=ref.run_id, step_id=ref.step_id,
        channel=CHANNEL, purpose=purpose, granted=granted, basis=basis, consent_event_id=event_id,
    )
    return profile if granted else {**profile, **NEUTRAL}
