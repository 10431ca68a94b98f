"""The store's part of `explain` runs its queries on both SQLite and PostgreSQL. The records here
are written through the same store calls the activities use; the reasons themselves are proven
from real runs in tests/test_explain.py (time-skipping server)."""

from __future__ import annotations

import asyncio

from deploy.visibility import when
from explain.build import explain


def test_store_part_reads_every_table_on_both_databases(store):
    cid = store.create_contact(email="ana@example.com", timezone="America/New_York")
    wf, run = f"journey/j/{cid}", "first-run"
    consent = store.record_consent(cid, "email", "marketing", "granted", source="signup form")
    store.record_consent_decision(cid, channel="email", purpose="marketing", granted=True, workflow_id=wf,
                                  run_id=run, step_id="hello", basis="email/marketing consent granted via signup form",
                                  consent_event_id=consent)
    store.ledger_claim(f"{wf}/{run}/hello/1", contact_id=cid, journey_id="j", step_id="hello", channel="email",
                       message_id="<m1@x>")
    store.ledger_set_status(f"{wf}/{run}/hello/1", "sent")
    store.save_message("<m1@x>", contact_id=cid, journey_id="j", step_id="hello", channel="email",
                       links=["https://example.com/a"])
    store.record_event(cid, "email.clicked", message_id="<m1@x>", data={"link": 0, "likely_bot": True})
    store.record_step_decision(cid, workflow_id=wf, run_id=run, step_id="later", visit=1, decision="skipped",
                               reason="no_address")
    store.suppress("email", "ana@example.com", reason="hard_bounce", source="dsn")
    ex = asyncio.run(explain(store, None, cid))
    texts = {i.kind: i.text for i in ex.items}
    assert texts["sent"] == ("sent email hello (Message-ID <m1@x>); consent: email/marketing consent granted via "
                             f"signup form (recorded {when(store.consent_state(cid, 'email', 'marketing').at.isoformat())})")
    assert texts["engagement"] == "clicked (likely bot) link 0: https://example.com/a"
    assert texts["skipped"] == "skipped: no address"
    assert texts["suppressed"] == "email address suppressed (hard_bounce) by dsn"
    assert ex.timezone == "America/New_York" and ex.notes == [
        "Temporal not reached: runs in flight and their waits are not shown"]
