"""GDPR export and erasure."""

from __future__ import annotations

import json

import pytest

from store import Store, schema
from store.gdpr import KEPT_TABLES
from store.records import ContactNotFound

PERSONAL = ("ana@example.com", "+34600111222", "Ana", "Lopez", "crm-42", "203.0.113.9", "Firefox")


def _full_contact(store: Store) -> int:
    cid = store.create_contact(email="ana@example.com", phone="+34600111222", first_name="Ana", last_name="Lopez",
                               external_id="crm-42", timezone="Europe/Madrid", stage="lead",
                               attributes={"plan": "team"}, tags=["webinar"])
    store.set_stage(cid, "mql", reason="score")
    store.add_score(cid, 45, reason="rule:pricing")
    event_id = store.record_consent(cid, "email", "marketing", "granted", source="form", ip="203.0.113.9",
                                    user_agent="Firefox")
    store.record_consent_decision(cid, channel="email", purpose="marketing", granted=True, basis="granted via form",
                                  workflow_id="journey/welcome/1", run_id="r", step_id="hello",
                                  consent_event_id=event_id)
    store.record_event(cid, "page.visited", data={"url": "https://example.com/?email=ana@example.com"})
    store.ledger_claim("w/r/hello/1", contact_id=cid, journey_id="welcome", step_id="hello", channel="email",
                       message_id="<m1@n>")
    store.ledger_set_status("w/r/hello/1", "failed", "550 5.1.1 <ana@example.com>: no such user")
    store.save_message("<m1@n>", contact_id=cid, journey_id="welcome", step_id="hello", channel="email",
                       links=["https://example.com/hi?u=ana@example.com"])
    store.record_enrolment("welcome", cid, workflow_id="journey/welcome/1", run_id="r")
    return cid


def test_export_holds_everything(store: Store) -> None:
    cid = _full_contact(store)
    data = store.export_contact(cid)
    json.dumps(data)  # JSON-ready
    assert data["contact"]["email"] == "ana@example.com" and data["contact"]["tags"] == ["webinar"]
    assert data["scores"] == {"global": 45}
    assert [h["reason"] for h in data["score_history"]] == ["rule:pricing"]
    assert [(h["from_stage"], h["to_stage"]) for h in data["stage_history"]] == [(None, "lead"), ("lead", "mql")]
    assert [h["ip"] for h in data["consent_history"]] == ["203.0.113.9"]
    assert [d["basis"] for d in data["consent_decisions"]] == ["granted via form"]
    assert [e["type"] for e in data["events"]] == ["page.visited"]
    assert [m["links"] for m in data["messages"]] == [["https://example.com/hi?u=ana@example.com"]]
    assert [(s["key"], s["status"]) for s in data["sends"]] == [("w/r/hello/1", "failed")]
    assert [e["workflow_id"] for e in data["enrolments"]] == ["journey/welcome/1"]
    with pytest.raises(ContactNotFound):
        store.export_contact(987654)


def test_erase_leaves_tombstone_suppression_and_audit_only(store: Store) -> None:
    cid = _full_contact(store)
    keep = store.create_contact(email="keep@example.com", tags=["x"])
    store.record_consent(keep, "email", "marketing", "granted", source="form")
    store.suppress("email", "ana@example.com", reason="hard_bounce", source="smtp 550")
    summary = store.erase_contact(cid)
    assert summary["events"] == 1 and summary["consent_events"] == 1 and summary["messages"] == 1
    assert summary["send_ledger_details_cleared"] == 1
    keyed = {t.name for t in schema.metadata.sorted_tables if "contact_id" in t.c}
    assert keyed - KEPT_TABLES <= set(summary)  # every contact-keyed table is erased unless kept on purpose

    tomb = store.get_contact(cid)
    assert tomb.erased_at is not None
    assert (tomb.email, tomb.phone, tomb.external_id, tomb.first_name, tomb.last_name, tomb.stage) == (None,) * 6
    assert (tomb.attributes, tomb.tags) == ({}, [])
    exported = json.dumps(store.export_contact(cid))
    for personal in PERSONAL:
        assert personal not in exported, personal
    assert store.events_for(cid) == [] and store.consent_history(cid) == [] and store.get_scores(cid) == {}
    assert store.get_message("<m1@n>") is None and store.message_link("<m1@n>", 0) is None
    assert store.ledger_get("w/r/hello/1").status == "failed"  # exactly-once keys survive

    # suppression survives (an earlier reason is kept) and blocks the phone too
    assert store.suppression_reason("email", "ana@example.com") == "hard_bounce"
    assert store.suppression_reason("sms", "+34600111222") == "erased"
    audit = store.erasure_audit(cid)
    assert audit["contact_id"] == cid and audit["summary"] == summary
    assert not any(p in json.dumps(audit, default=str) for p in PERSONAL)

    # an erased contact is not found, cannot be written to, and erasing again does nothing
    assert store.find_contact(email="ana@example.com") is None
    with pytest.raises(ContactNotFound, match="was erased"):
        store.record_event(cid, "email.clicked")
    with pytest.raises(ContactNotFound, match="was erased"):
        store.read_profile(cid)
    assert store.erase_contact(cid) == {}
    # the other contact is untouched
    assert store.get_contact(keep).email == "keep@example.com"
    assert [e.status for e in store.consent_history(keep)] == ["granted"]


def test_erase_unknown_contact(store: Store) -> None:
    with pytest.raises(ContactNotFound):
        store.erase_contact(424242)
