"""The one event path (engine.events.publish) on a real worker: score changes become
`score.changed` events that journeys can enter on; profiles use the scoring model's thresholds."""

from __future__ import annotations

import pytest

from compiler import ir
from engine.events import publish
from engine.simulation import Simulation
from marketing.hooks import temperature_thresholds
from tests.journey_builder import journey

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


async def test_a_scored_event_starts_journeys_that_enter_on_score_changed(sim):
    handoff = journey(
        ir.Branch(id="hot", cases=(ir.Case(when="score >= 10", next="tell"),), default="done"),
        ir.Notify(id="tell", to="sales", template="handoff", next="done"),
        ir.Exit(id="done", reason="checked"),
        emails=["handoff"],
        entry=ir.Entry(kind="event", event="score.changed", reentry="always"),
    )
    sim.store.save_journey_version(handoff.id, handoff.version, handoff.to_dict())
    cid = sim.create_contact({"email": "scored@example.com", "consent": {"email": ["marketing"]}})
    result = await publish(sim.env.client, sim.store, cid, "page.visited",
                           data={"url": "https://example.com/pricing"}, journeys={handoff.id: handoff},
                           task_queue=sim.task_queue, deps=sim.deps)
    assert "score" in result.changed
    changed = sim.store.events_for(cid, type="score.changed")
    assert len(changed) == 1 and changed[0].data["score"] == sim.store.get_scores(cid)["global"] > 0
    assert [r.status for r in result.enrolled] == ["started"]
    # an event that changes no score emits nothing more
    quiet = await publish(sim.env.client, sim.store, cid, "custom.nothing", journeys={handoff.id: handoff},
                          task_queue=sim.task_queue, deps=sim.deps)
    assert quiet.enrolled == [] and len(sim.store.events_for(cid, type="score.changed")) == 1


async def test_profiles_read_by_journeys_use_the_scoring_models_thresholds(sim):
    warm, hot = temperature_thresholds()
    assert sim.deps.temperature_thresholds == (warm, hot)
    j = journey(
        ir.Branch(id="t", cases=(ir.Case(when='temperature == "warm"', next="warm"),), default="other"),
        ir.Exit(id="warm", reason="warm"),
        ir.Exit(id="other", reason="other"),
    )
    out = await sim.run(j, {"email": "warm@example.com", "score": warm})
    assert out.result.reason == "warm"
