"""The contact's event log (email.sent, email.clicked, page.visited, ...), queried by type and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from store import schema
from store.base import StoreBase, check_aware, check_text
from store.db import utcnow
from store.ingest import take_claim
from store.records import Event, StoreError

ev = schema.events.c


class EventsMixin(StoreBase):
    def record_event(
        self,
        contact_id: int,
        type: str,
        *,
        data: dict[str, Any] | None = None,
        journey_id: str | None = None,
        step_id: str | None = None,
        message_id: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append an event and return its id. Raises ContactNotFound for an unknown or erased contact."""
        check_text("event type", type)
        if data is not None and not isinstance(data, dict):
            raise StoreError(f"event data must be a dict, got {data.__class__.__name__}")
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            take_claim(self, conn, utcnow())  # an ingested message's id, with its event (store/ingest.py)
            return int(conn.execute(schema.events.insert().values(
                contact_id=contact_id, type=type, journey_id=journey_id, step_id=step_id,
                message_id=message_id, data=dict(data or {}), at=self._when(at),
            )).inserted_primary_key[0])

    def get_event(self, event_id: int) -> Event | None:
        """One event by its id."""
        with self._read() as conn:
            r = conn.execute(select(schema.events).where(ev.id == event_id)).first()
        return None if r is None else event_from_row(r)

    def events_for(
        self, contact_id: int, *, type: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        """The contact's events oldest first, optionally of one type and at or after `since`."""
        query = select(schema.events).where(ev.contact_id == contact_id).order_by(ev.at, ev.id)
        if type is not None:
            query = query.where(ev.type == type)
        if since is not None:
            query = query.where(ev.at >= check_aware("since", since))
        with self._read() as conn:
            return [event_from_row(r) for r in conn.execute(query)]


def event_from_row(r: Any) -> Event:
    """An `events` table row as an Event."""
    return Event(r.id, r.contact_id, r.type, r.journey_id, r.step_id, r.message_id, dict(r.data or {}), r.at)
