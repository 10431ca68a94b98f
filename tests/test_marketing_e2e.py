"""The marketing model end to end, with the shipped scoring.yaml, stages.yaml and rules.yaml:
a CSV import with bad and duplicate rows, events through the one event path raising a
contact's score past the thresholds, the rule telling sales (a real email in the SMTP
sink), the stage moving to mql, and a waiting journey taking the branch for the new stage."""

from __future__ import annotations

import csv

import pytest

from compiler import ir
from engine import events
from engine.simulation import SimEvent, Simulation
from marketing import rules
from marketing.contact_import import ImportOptions, import_csv
from marketing.hooks import install_hooks, load_models
from tests.journey_builder import journey

pytestmark = pytest.mark.asyncio

CSV = """email,first_name,phone,external_id
lena@example.com,Lena,+34600111444,crm-1
not-an-email,Bad,,crm-2
LENA@example.com,Lena,,crm-1
omar@example.com,Omar,+34 600 111 555,crm-3
"""


@pytest.fixture
def shipped_hooks():
    """Exactly the shipped models and rules, whatever earlier tests installed."""
    saved = list(events.EVENT_HOOKS)
    events.EVENT_HOOKS.clear()
    install_hooks(*load_models())
    rules.install(rules.load_rules())
    yield
    events.EVENT_HOOKS[:] = saved


async def test_import_score_rule_stage_and_journey_branch(tmp_path, shipped_hooks):
    source = tmp_path / "crm.csv"
    source.write_text(CSV)
    report = tmp_path / "rejects.csv"
    async with Simulation() as sim:
        summary = import_csv(sim.store, source, ImportOptions(source="crm", consents=[("email", "marketing")],
                                                              reject_report=report))
        assert (summary.rows, summary.imported, summary.merged, summary.rejected, summary.refused) == (4, 3, 1, 0, 1)
        with report.open() as f:
            rejected = list(csv.DictReader(f))
        assert [(r["row"], r["column"]) for r in rejected] == [("3", "email")]  # header is row 1
        lena = sim.store.find_contact(email="lena@example.com")
        assert lena.external_id == "crm-1" and "source:crm" in lena.tags

        route = journey(
            ir.Wait(id="pause", duration_s=3 * 86400),
            ir.Branch(id="by-stage", cases=(ir.Case(when='stage == "mql"', next="mql-offer"),), default="nurture"),
            ir.SendEmail(id="mql-offer", template="mql-offer", next="end-mql"),
            ir.Exit(id="end-mql", reason="mql"),
            ir.SendEmail(id="nurture", template="nurture"),
            emails=["mql-offer", "nurture"],
        )
        # four webinars (+15 each) and two pricing visits (+10 each) during the wait: 80 points
        behaviour = [SimEvent(type="webinar.attended", delay_s=3600 * h) for h in (1, 2, 3, 4)] + [
            SimEvent(type="page.visited", delay_s=3600 * h, data={"url": "https://example.com/pricing"}) for h in (5, 6)
        ]
        out = await sim.run(route, lena.id, behaviour)

        assert sim.store.get_scores(lena.id)["global"] == 80
        assert sim.store.get_contact(lena.id).stage == "mql"
        assert [s.to_stage for s in sim.store.stage_history(lena.id)][-2:] == ["lead", "mql"]
        alerts = [m for m in sim.smtp.messages if m["To"] and "sales" in m["To"]]
        assert len(alerts) == 1 and "Lena" in str(alerts[0]["Subject"])
        assert out.result.reason == "mql"
        assert [m["Subject"] for m in out.emails if m["To"] == "lena@example.com"] == ["mql-offer for Lena"]
        # the other contact saw none of it
        omar = sim.store.find_contact(email="omar@example.com")
        assert omar.phone == "+34600111555" and sim.store.get_scores(omar.id).get("global", 0) == 0
