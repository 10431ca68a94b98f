"""The report's numbers on a store filled by real runs (worker over this store, real SMTP sink,
consent refusals, a hard bounce) and opens/clicks/unsubscribes published through the events
path, on SQLite and PostgreSQL; the HTML page is self-contained; analyze counts contacts."""

from __future__ import annotations

import dataclasses
import re

import pytest

from compiler import ir
from engine.enrol import enrol
from engine.events import publish
from marketing.analyze import FieldError, crosstab, frequency
from marketing.report import journey_report
from marketing.report_format import to_html, to_table
from tests.journey_builder import journey
from tests.test_rules import deps_for, hooks, sim  # noqa: F401 - shared fixtures
from worker import create_worker

CONSENT = ("email", "marketing")


def report_journey() -> ir.Journey:
    j = journey(
        ir.Split(id="ab", variants=(ir.Variant(name="a", percent=50, next="welcome"),
                                    ir.Variant(name="b", percent=50, next="welcome"))),
        ir.SendEmail(id="welcome", template="welcome"),
        ir.SendEmail(id="guide", template="guide"),
        ir.Branch(id="vip", cases=(ir.Case(when='"vip" in tags', next="convert"),), default=None),
        ir.SetProfile(id="convert", stage="customer"),
        ir.Exit(id="done", reason="converted-exit"),
        emails=["welcome", "guide"], goal='stage == "customer"',
    )
    j = dataclasses.replace(j, objectives=(("click_rate", 0.2), ("conversion_rate", 0.5)))
    return ir.Journey.from_dict({**j.to_dict(), "version": j.content_hash()})


async def populate(store, sim, j: ir.Journey) -> dict[str, int]:
    """Five contacts through the journey; then engagement through publish."""
    tag = store.dialect
    people = {}
    for name in ("ana", "ben", "cy", "dee", "eve"):
        people[name] = store.create_contact(email=f"{name}-{tag}@example.com", first_name=name.title(),
                                            tags=["vip"] if name == "ana" else [])
        if name != "cy":
            store.record_consent(people[name], *CONSENT, "granted", source="test")
    store.suppress("email", f"dee-{tag}@example.com", reason="complaint", source="test")
    sim.smtp.reject_recipient(f"eve-{tag}@example.com")
    queue = f"report-{tag}"
    try:
        async with create_worker(sim.env.client, deps_for(store, sim), task_queue=queue):
            for cid in people.values():
                started = await enrol(sim.env.client, store, j, cid, task_queue=queue)
                await sim.env.client.get_workflow_handle(started.workflow_id).result()
    finally:
        sim.smtp.clear_faults()

    def mid(name: str, step: str) -> str:
        return next(m.message_id for m in store.messages_for(people[name]) if m.step_id == step)

    client = sim.env.client
    await publish(client, store, people["ana"], "email.opened", message_id=mid("ana", "welcome"))
    await publish(client, store, people["ana"], "email.clicked", message_id=mid("ana", "welcome"))
    await publish(client, store, people["ana"], "email.clicked", message_id=mid("ana", "welcome"))  # same message
    await publish(client, store, people["ben"], "email.clicked", message_id=mid("ben", "welcome"), likely_bot=True)
    await publish(client, store, people["ben"], "email.opened", message_id=mid("ben", "guide"))
    await publish(client, store, people["ana"], "email.unsubscribed", message_id=mid("ana", "guide"))
    return people




async def test_report_numbers_from_real_runs(store, sim, hooks):
    j = report_journey()
    store.save_journey_version(j.id, j.version, j.to_dict())
    await populate(store, sim, j)
    r = journey_report(store, j)
    welcome, guide = (next(s for s in r["steps"] if s["id"] == sid) for sid in ("welcome", "guide"))
    assert {k: welcome[k] for k in ("entered", "sent", "bounced", "delivered", "opened", "clicked", "clicked_bot",
                                    "unsubscribed", "skipped", "skipped_reasons")} == {
        "entered": 5, "sent": 3, "bounced": 1, "delivered": 2, "opened": 1, "clicked": 1, "clicked_bot": 1,
        "unsubscribed": 0, "skipped": 2, "skipped_reasons": {"no_consent": 1, "suppressed": 1}}
    assert (welcome["open_rate"], welcome["click_rate"], welcome["click_to_open"]) == (0.5, 0.5, 1.0)
    assert {k: guide[k] for k in ("sent", "delivered", "opened", "clicked", "unsubscribed", "skipped_reasons")} == {
        "sent": 2, "delivered": 2, "opened": 1, "clicked": 0, "unsubscribed": 1,
        "skipped_reasons": {"no_consent": 1, "suppressed": 2}}  # eve's hard bounce suppressed her
    t = r["totals"]
    assert (t["entered"], t["sent"], t["delivered"], t["opened"], t["clicked"], t["converted"]) == (5, 5, 4, 2, 1, 1)
    assert (t["open_rate"], t["click_rate"], t["click_to_open"], t["conversion_rate"]) == (0.5, 0.25, 0.5, 0.2)
    assert [(o["name"], o["met"]) for o in r["objectives"]] == [("click_rate", True), ("conversion_rate", False)]
    assert {v["variant"] for v in r["variants"]} <= {"a", "b"}
    assert sum(v["entered"] for v in r["variants"]) == 5 and sum(v["converted"] for v in r["variants"]) == 1
    assert sum(v["clicked"] for v in r["variants"]) == 1
    assert "objective conversion_rate >= 50.0%: 20.0% NOT MET" in to_table(r)

    page = to_html([(j, r)])
    assert "<svg" in page and "sent 3 · opened 1 · clicked 1" in page and "entered 5" in page
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\((?!#)", page, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", page, re.I)


async def test_since_excludes_older_activity(store, sim, hooks):
    j = report_journey()
    await populate(store, sim, j)
    from datetime import datetime, timedelta, timezone

    later = journey_report(store, j, since=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert later["totals"]["entered"] == 0 and later["totals"]["sent"] == 0


def test_frequency_and_crosstab(store):
    a = store.create_contact(email="a@x.com", stage="lead", tags=["source:crm", "interest-ai"], attributes={"plan": "team"})
    b = store.create_contact(email="b@x.com", stage="lead", tags=["source:shop"], attributes={"plan": "trial"})
    c = store.create_contact(email="c@x.com", stage="customer", tags=["source:crm"])
    store.create_contact(email="d@x.com")
    store.add_score(a, 75, reason="t")
    store.add_score(b, 45, reason="t")
    store.erase_contact(c)
    assert frequency(store, "stage")["rows"] == [
        {"value": "lead", "count": 2, "percent": 66.7}, {"value": "(none)", "count": 1, "percent": 33.3}]
    assert {r["value"]: r["count"] for r in frequency(store, "temperature")["rows"]} == {"hot": 1, "warm": 1, "cold": 1}
    assert {r["value"]: r["count"] for r in frequency(store, "source")["rows"]} == {"crm": 1, "shop": 1, "(none)": 1}
    assert {r["value"]: r["count"] for r in frequency(store, "tag:interest-")["rows"]} == {"ai": 1, "(none)": 2}
    assert {r["value"]: r["count"] for r in frequency(store, "attributes.plan")["rows"]} == {"team": 1, "trial": 1, "(none)": 1}
    x = crosstab(store, "stage", "attributes.plan")
    assert x["counts"] == {"(none)": {"(none)": 1, "team": 0, "trial": 0}, "lead": {"(none)": 0, "team": 1, "trial": 1}}
    assert x["row_totals"] == {"(none)": 1, "lead": 2} and x["total"] == 3
    with pytest.raises(FieldError, match="unknown field"):
        frequency(store, "colour")
