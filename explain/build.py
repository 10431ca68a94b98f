"""Assemble an Explanation: the store's part, the journeys the contact is not in, Temporal's part
(runs in flight and finished, read through the client), narrowed to a journey or a message."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from explain.model import Explanation, Item
from explain.store_side import Versions, store_side
from store import ContactNotFound


def live_contact(store: Any, contact_id: int) -> Any:
    """The contact, or ContactNotFound: one line that says nothing about an erased one but its id."""
    contact = store.get_contact(contact_id)
    if contact is None:
        raise ContactNotFound(f"no contact {contact_id}")
    if contact.erased_at is not None:
        raise ContactNotFound(f"contact {contact_id} was erased: nothing is kept to explain")
    return contact


def _gather(store: Any, contact: Any, now: datetime) -> tuple[Explanation, list[Any], Versions]:
    from activities.send_gate import contact_timezone
    from explain.not_in import not_in

    versions = Versions(store)
    ex = Explanation(contact.id, contact_timezone(contact, "UTC"))
    items, runs, events = store_side(store, contact, versions)
    ex.items, ex.runs = items, runs
    ex.not_in = not_in(store, contact, runs, events, now)
    return ex, events, versions


async def explain(
    store: Any,
    client: Any,
    contact_id: int,
    *,
    journey: str | None = None,
    message_id: str | None = None,
    now: datetime | None = None,
) -> Explanation:
    """Everything known about why the contact got, or did not get, each message. `client` may be
    None (Temporal unreachable): the store's part alone, with a note."""
    now = now or datetime.now(timezone.utc)
    contact = await asyncio.to_thread(live_contact, store, contact_id)
    began = time.perf_counter()
    ex, _events, versions = await asyncio.to_thread(_gather, store, contact, now)
    ex.timings["store_s"] = time.perf_counter() - began
    if journey is not None:
        _narrow_to_journey(ex, journey)
    began = time.perf_counter()
    if client is None:
        ex.notes.append("Temporal not reached: runs in flight and their waits are not shown")
    else:
        from explain.temporal_side import temporal_side

        await temporal_side(client, ex, versions)
    ex.timings["temporal_s"] = time.perf_counter() - began
    if message_id is not None:
        from explain.message import narrow_to_message

        await asyncio.to_thread(narrow_to_message, store, ex, contact, versions, message_id)
    return ex


def _narrow_to_journey(ex: Explanation, journey: str) -> None:
    """Keep the journey's items, and the contact's own changes (consent, suppression, stage, score)
    and engagement with the journey's messages."""
    ours = {i.message_id for i in ex.items if i.journey == journey and i.message_id}
    keep_kinds = {"consent", "suppressed", "stage", "score"}

    def kept(i: Item) -> bool:
        if i.journey is not None:
            return i.journey == journey
        return i.kind in keep_kinds or (i.message_id is not None and i.message_id in ours)

    ex.items = [i for i in ex.items if kept(i)]
    ex.runs = [r for r in ex.runs if r.journey == journey]
    ex.not_in = [n for n in ex.not_in if n.journey == journey]
