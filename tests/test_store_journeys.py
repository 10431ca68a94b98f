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


def test_finishing_an_enrolment_says_whether_it_was_open(store: Store) -> None:
    """A retried end of run must know its end is recorded already (not to report it twice)."""
    cid = store.create_contact()
    store.record_enrolment("welcome", cid, workflow_id="journey/welcome/1", run_id="r1")
    assert store.finish_enrolment("journey/welcome/1", "r1", "completed") is True
    assert store.running_workflow_ids(cid) == []
    assert store.finish_enrolment("journey/welcome/1", "r1", "exited") is False
    assert store.finish_enrolment("journey/welcome/2", "r9", "completed") is True  # no enrolment: nothing recorded


def test_enrolments_in_batches(store: Store) -> None:
    ids = [store.create_contact() for _ in range(3)]
    t0 = datetime.now(timezone.utc) - timedelta(days=3)
    store.record_enrolment("welcome", ids[0], workflow_id="w0", run_id="old", started_at=t0)
    rows = [dict(journey_id="welcome", contact_id=cid, workflow_id=f"w{cid}", run_id=f"r{cid}") for cid in ids]
    store.erase_contact(ids[2])
    assert store.record_enrolments(rows) == 2  # the erased contact's row is dropped, the rest commit
    assert store.record_enrolments([]) == 0
    last = store.last_enrolments("welcome", ids + [999_999])
    assert {cid: e.run_id for cid, e in last.items()} == {ids[0]: f"r{ids[0]}", ids[1]: f"r{ids[1]}"}
    assert last[ids[0]] == store.last_enrolment("welcome", ids[0])  # the same answer as one at a time
    assert store.last_enrolments("other", ids) == {}
    with pytest.raises(StoreError, match="workflow id"):
        store.record_enrolments([dict(journey_id="welcome", contact_id=ids[1], workflow_id="")])
    assert store.last_enrolments("welcome", [ids[1]])[ids[1]].run_id == f"r{ids[1]}"  # nothing written


def test_contact_lookups_in_batches(store: Store) -> None:
    a = store.create_contact(email="Ann@Example.com", external_id="crm-1", phone="+34600000001")
    b = store.create_contact(email="bob@example.com")
    gone = store.create_contact(email="gone@example.com")
    store.erase_contact(gone)
    found = store.contact_ids_by("email", ["ann@example.com", " ANN@example.COM", "bob@example.com",
                                           "gone@example.com", "not an address", "nobody@example.com"])
    assert found == {"ann@example.com": a, " ANN@example.COM": a, "bob@example.com": b}
    assert store.contact_ids_by("external_id", ["crm-1", "crm-2"]) == {"crm-1": a}
    assert store.contact_ids_by("phone", ["+34 600 000 001", "600000001"]) == {"+34 600 000 001": a}
    many = [f"x{i}@example.com" for i in range(1200)] + ["bob@example.com"]  # more than one batch
    assert store.contact_ids_by("email", many) == {"bob@example.com": b}
    assert store.live_contact_ids([a, b, gone, 424242]) == {a, b}
    with pytest.raises(StoreError, match="cannot look contacts up by 'first_name'"):
        store.contact_ids_by("first_name", ["Ann"])
