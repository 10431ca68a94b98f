"""Lifecycle stage rules (SQLite and PostgreSQL) and the end-to-end path: events through
publish raise the score past the mql threshold, the stage moves, a waiting journey's goal ends it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler import ir
from engine.events import EVENT_HOOKS, publish
from engine.simulation import SimEvent, Simulation
from marketing.hooks import install_hooks, load_models
from marketing.stages import StagesModel, load_stages, validate_stages_file
from store import Store
from tests.journey_builder import journey
from tests.test_scoring import isolate_hooks, temporal_client  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> Iterator[StagesModel]:
    """The shipped scoring.yaml and stages.yaml, installed as the event hooks."""
    saved = list(EVENT_HOOKS)
    isolate_hooks(monkeypatch)
    scoring, stages = load_models(ROOT / "journeys")
    assert scoring is not None and stages is not None
    install_hooks(scoring, stages)
    yield stages
    EVENT_HOOKS[:] = saved


async def test_event_and_threshold_rules_through_publish(store: Store, temporal_client, shipped: StagesModel) -> None:  # noqa: F811
    cid = store.create_contact(email="ana@example.com", stage="subscriber")
    first = await publish(temporal_client, store, cid, "webinar.attended")  # +15: score >= 10 -> lead
    assert sorted(first.changed) == ["score", "stage"] and store.get_contact(cid).stage == "lead"
    await publish(temporal_client, store, cid, "demo.requested")  # +30 = 45, and the event -> sql
    assert store.get_contact(cid).stage == "sql"
    await publish(temporal_client, store, cid, "page.visited", data={"url": "/pricing"})  # 55 >= 50: mql is backward
    assert store.get_contact(cid).stage == "sql"
    assert [(h.from_stage, h.to_stage, h.reason) for h in store.stage_history(cid)] == [
        (None, "subscriber", "created"),
        ("subscriber", "lead", "rule engaged: webinar.attended"),
        ("lead", "sql", "rule demo-requested: demo.requested"),
    ]


def test_backward_only_when_allowed_and_from_restricts(store: Store, shipped: StagesModel) -> None:
    m = shipped
    assert m.next_stage("customer", "subscription.cancelled", {}, {}) is not None
    assert m.next_stage("sql", "subscription.cancelled", {}, {}) is None  # from: [customer]
    assert m.next_stage("churned", "email.clicked", {}, {"global": 99}) is None  # mql/lead would be backward
    to, rule = m.next_stage("churned", "purchase.completed", {}, {})
    assert (to, rule.id) == ("customer", "purchased")  # allow_backward
    assert m.next_stage(None, "x", {}, {"global": 60})[0] == "mql"  # furthest matching stage wins
    assert [m.funnel(s) for s in ("lead", "mql", "sql", "customer", "nope")] == ["TOFU", "MOFU", "BOFU", "POST", None]


def test_bad_stages_file_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "stages.yaml"
    path.write_text("stages:\n  - {id: lead, funnel: TOFU}\nrules:\n  - {id: r, score: {at_least: 5}, to: mql}\n"
                    "  - {id: s, event: x, where: [{field: u, matches: '(('}], to: lead}\n")
    messages = [str(d) for d in validate_stages_file(path)]
    assert messages[0] == f'{path}:4:39: unknown stage "mql" (stages: lead)'
    assert messages[1].startswith(f"{path}:5:") and "invalid regular expression" in messages[1]
    with pytest.raises(ValueError, match="funnel"):
        path.write_text("stages:\n  - {id: lead, funnel: TOP}\n")
        load_stages(path)


async def test_journey_goal_on_stage_reacts_to_scoring_events(shipped: StagesModel) -> None:
    """A run waiting 30 days with goal stage == "mql" ends when events lift the score past 50."""
    j = journey(ir.Wait(id="pause", duration_s=30 * 86400), ir.Exit(id="timeout", reason="waited"),
                goal='stage == "mql"')
    events = [SimEvent("webinar.attended", delay_s=3600), SimEvent("webinar.attended", delay_s=7200)]
    events += [SimEvent("page.visited", delay_s=h * 3600, data={"url": "https://example.com/pricing"}) for h in (3, 4)]
    async with Simulation() as sim:
        out = await sim.run(j, {"email": "mo@example.com", "stage": "subscriber", "consent": {"email": ["marketing"]}}, events)
        cid = sim.store.find_contact(email="mo@example.com").id
        assert (out.result.outcome, len(out.delivered_events)) == ("goal", 4)
        assert sim.store.get_scores(cid)["global"] == 50
        assert [h.to_stage for h in sim.store.stage_history(cid)] == ["subscriber", "lead", "mql"]
        assert out.result.reason != "waited" and not out.undelivered_events  # ended inside the 30-day wait
