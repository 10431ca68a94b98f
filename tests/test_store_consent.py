"""Consent: the append-only log (enforced by the database), derived state, decisions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from store import Store, StoreError


def _ids(store: Store) -> tuple[int, int]:
    cid = store.create_contact(email="c@example.com")
    event_id = store.record_consent(
        cid, "email", "marketing", "granted", source="signup form", wording_version="v3",
        ip="203.0.113.9", user_agent="Firefox", evidence={"token_sha256": "ab" * 32},
    )
    return cid, event_id


def test_record_and_state(store: Store) -> None:
    cid, first = _ids(store)
    state = store.consent_state(cid, "email", "marketing")
    assert (state.status, state.event_id, state.source, state.wording_version) == ("granted", first, "signup form", "v3")
    assert state.at.tzinfo is timezone.utc
    confirmed = store.record_consent(cid, "email", "marketing", "confirmed", source="double opt-in link")
    assert store.consent_state(cid, "email", "marketing").event_id == confirmed
    withdrawn = store.record_consent(cid, "email", "marketing", "withdrawn", source="unsubscribe link")
    assert store.consent_state(cid, "email", "marketing").status == "withdrawn"
    assert store.consent_state(cid, "email", "profiling") is None
    # an older proof imported later does not override the newer withdrawal
    store.record_consent(cid, "email", "marketing", "granted", source="crm import",
                         at=datetime.now(timezone.utc) - timedelta(days=30))
    assert store.consent_state(cid, "email", "marketing").event_id == withdrawn
    history = store.consent_history(cid)
    assert [h.status for h in history] == ["granted", "granted", "confirmed", "withdrawn"]
    assert history[1].ip == "203.0.113.9" and history[1].evidence == {"token_sha256": "ab" * 32}
    assert set(store.consent_states(cid)) == {"email"}


def test_record_consent_checks_input(store: Store) -> None:
    cid = store.create_contact()
    with pytest.raises(StoreError, match="status must be one of granted, confirmed, withdrawn"):
        store.record_consent(cid, "email", "marketing", "yes", source="form")
    with pytest.raises(StoreError, match="source must be a non-empty string"):
        store.record_consent(cid, "email", "marketing", "granted", source="")
    with pytest.raises(StoreError, match="at must be timezone-aware"):
        store.record_consent(cid, "email", "marketing", "granted", source="f", at=datetime(2024, 1, 1))
    assert store.consent_history(cid) == []


def test_decisions_recorded_with_basis(store: Store) -> None:
    cid, event_id = _ids(store)
    d1 = store.record_consent_decision(
        cid, workflow_id="journey/welcome/1", run_id="r1", step_id="welcome", channel="email",
        purpose="marketing", granted=True, basis="email/marketing consent granted via signup form",
        consent_event_id=event_id)
    d2 = store.record_consent_decision(cid, channel="sms", purpose="marketing", granted=False,
                                       basis="no sms/marketing consent on record")
    decisions = store.consent_decisions(cid)
    assert [(d.id, d.granted, d.consent_event_id, d.step_id) for d in decisions] == [
        (d1, True, event_id, "welcome"), (d2, False, None, None)]
    assert decisions[0].basis.startswith("email/marketing consent granted")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET status = 'withdrawn' WHERE id = :id",
        "UPDATE consent_events SET ip = NULL WHERE id = :id",
        "DELETE FROM consent_events WHERE id = :id",
        "DELETE FROM consent_events",
    ],
)
def test_database_refuses_update_and_delete_of_consent_log(store: Store, statement: str) -> None:
    cid, event_id = _ids(store)
    with pytest.raises(DBAPIError, match="append-only"):
        with store._engine.begin() as conn:
            conn.execute(text(statement), {"id": event_id})
    history = store.consent_history(cid)
    assert [(h.id, h.status, h.ip) for h in history] == [(event_id, "granted", "203.0.113.9")]


def test_postgres_refuses_truncate_of_consent_log(pg_store: Store) -> None:
    _ids(pg_store)
    with pytest.raises(DBAPIError, match="append-only"):
        with pg_store._engine.begin() as conn:
            conn.execute(text("TRUNCATE consent_events CASCADE"))


def test_only_erasure_removes_consent_rows_and_it_is_final(store: Store) -> None:
    cid, event_id = _ids(store)
    other, other_event = _ids(store)
    store.erase_contact(cid)
    assert store.consent_history(cid) == []
    assert [h.id for h in store.consent_history(other)] == [other_event]
    # even for the erased contact, no update path opens up, and erasure cannot be undone
    with pytest.raises(DBAPIError, match="cannot be restored"):
        with store._engine.begin() as conn:
            conn.execute(text("UPDATE contacts SET erased_at = NULL WHERE id = :id"), {"id": cid})
    with pytest.raises(DBAPIError, match="append-only"):
        with store._engine.begin() as conn:
            conn.execute(text("DELETE FROM consent_events WHERE id = :id"), {"id": other_event})
