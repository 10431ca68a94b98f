"""Deployed journey versions, journey state and enrolments."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from store import Store, StoreError

IR = {"id": "welcome", "steps": [{"id": "hello", "type": "send_email"}], "entry": ("hello",)}


def test_versions_are_immutable_and_idempotent(store: Store) -> None:
    assert store.save_journey_version("welcome", "v1", IR) is True
    assert store.save_journey_version("welcome", "v1", IR) is False
    with pytest.raises(StoreError, match="already deployed with a different IR"):
        store.save_journey_version("welcome", "v1", {**IR, "steps": []})
    store.save_journey_version("welcome", "v2", {"id": "welcome", "steps": []})
    assert store.get_journey_version("welcome", "v1") == {**IR, "entry": ["hello"]}
    assert store.get_journey_version("welcome", "v9") is None
    assert [v.version for v in store.list_journey_versions("welcome")] == ["v1", "v2"]
    assert store.list_journey_versions("other") == []


def test_journey_state(store: Store) -> None:
    assert store.get_journey_state("welcome") is None
    store.save_journey_version("welcome", "v1", IR)
    store.save_journey_version("welcome", "v2", IR)
    created = store.set_journey_state("welcome", active_version="v1")
    assert (created.journey_id, created.active_version, created.state) == ("welcome", "v1", "active")
    store.set_journey_state("welcome", active_version="v2")
    store.set_journey_state("welcome", state="draining")
    state = store.get_journey_state("welcome")
    assert (state.active_version, state.state, state.updated_at.tzinfo) == ("v2", "draining", timezone.utc)
    store.save_journey_version("trial", "a", IR)
    store.set_journey_state("trial", active_version="a", state="removed")
    assert [(j.journey_id, j.state) for j in store.list_journeys()] == [("trial", "removed"), ("welcome", "draining")]
    with pytest.raises(StoreError, match="state must be one of active, draining, removed"):
        store.set_journey_state("welcome", state="paused")
    with pytest.raises(StoreError, match="no deployed version 'v7'"):
        store.set_journey_state("welcome", active_version="v7")


def test_enrolments(store: Store) -> None:
    cid = store.create_contact()
    assert store.last_enrolment("welcome", cid) is None
    t0 = datetime.now(timezone.utc) - timedelta(days=40)
    first = store.record_enrolment("welcome", cid, workflow_id=f"journey/welcome/{cid}", run_id="r1",
                                   key="2024-01", started_at=t0)
    second = store.record_enrolment("welcome", cid, workflow_id=f"journey/welcome/{cid}", run_id="r2", key="2024-02")
    last = store.last_enrolment("welcome", cid)
    assert (last.id, last.run_id, last.key) == (second, "r2", "2024-02")
    by_key = store.last_enrolment("welcome", cid, key="2024-01")
    assert (by_key.id, by_key.started_at) == (first, t0)
    assert store.last_enrolment("welcome", cid, key="2023-12") is None
    assert store.last_enrolment("other", cid) is None
