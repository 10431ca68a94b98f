"""store.step_decisions: why a send was postponed or skipped, per run/step/visit (SQLite and
PostgreSQL), erased with the contact."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest


def test_decisions_are_kept_in_order_and_erased_with_the_contact(store):
    cid = store.create_contact(email="ana@example.com")
    until = datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc)
    at = datetime(2026, 12, 7, 23, 0, tzinfo=timezone.utc)
    store.record_step_decision(cid, workflow_id="journey/j/1", run_id="r1", step_id="offer", visit=1,
                               decision="postponed", reason="quiet_hours", until=until, at=at)
    store.record_step_decision(cid, workflow_id="journey/j/1", run_id="r1", step_id="sms", visit=1,
                               decision="skipped", reason="no_address", at=until)
    got = store.step_decisions_for(cid)
    assert [(d.step_id, d.decision, d.reason, d.until) for d in got] == [
        ("offer", "postponed", "quiet_hours", until), ("sms", "skipped", "no_address", None)]
    with pytest.raises(ValueError):
        store.record_step_decision(cid, workflow_id="w", run_id="r", step_id="s", visit=1, decision="maybe",
                                   reason="x")
    summary = store.erase_contact(cid)
    assert summary["step_decisions"] == 2 and store.step_decisions_for(cid) == []
