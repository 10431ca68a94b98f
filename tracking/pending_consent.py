"""Consent given on a hosted form is `pending` until the double opt-in link is followed; then the
link confirms exactly the purposes the person asked for on that channel (not the link's own
purpose, which is what confirms when nothing is pending: imports, older flows)."""

from __future__ import annotations

from typing import Any

PENDING = "pending"


def pending_purposes(store: Any, contact_id: int, channel: str) -> list[str]:
    """The purposes on `channel` whose latest consent event is `pending`, sorted."""
    states = store.consent_states(contact_id).get(channel, {})
    return sorted(purpose for purpose, state in states.items() if state.status == PENDING)
