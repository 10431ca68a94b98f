"""The contact's event log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store import Store, StoreError
from store.records import ContactNotFound


def test_record_and_query_events(store: Store) -> None:
    cid = store.create_contact()
    now = datetime.now(timezone.utc)
    old = store.record_event(cid, "page.visited", data={"url": "/pricing"}, at=now - timedelta(days=20))
    sent = store.record_event(cid, "email.sent", journey_id="welcome", step_id="hello", message_id="<m@n>")
    click = store.record_event(cid, "email.clicked", message_id="<m@n>", data={"link": 0})
    recent = store.record_event(cid, "page.visited", data={"url": "/pricing?plan=team"}, at=now - timedelta(days=1))
    everything = store.events_for(cid)
    assert [e.id for e in everything] == [old, recent, sent, click]  # ordered by time
    visits = store.events_for(cid, type="page.visited", since=now - timedelta(days=14))
    assert [(e.id, e.data) for e in visits] == [(recent, {"url": "/pricing?plan=team"})]
    e = store.events_for(cid, type="email.sent")[0]
    assert (e.journey_id, e.step_id, e.message_id, e.data, e.at.tzinfo) == (
        "welcome", "hello", "<m@n>", {}, timezone.utc)


def test_event_input_is_checked(store: Store) -> None:
    cid = store.create_contact()
    with pytest.raises(ContactNotFound):
        store.record_event(555555, "email.opened")
    with pytest.raises(StoreError, match="event type must be a non-empty string"):
        store.record_event(cid, "")
    with pytest.raises(StoreError, match="event data must be a dict"):
        store.record_event(cid, "x", data=[1])  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="since must be timezone-aware"):
        store.events_for(cid, since=datetime(2024, 1, 1))
    assert store.events_for(cid) == []
