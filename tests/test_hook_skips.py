"""The event path's marketing hooks return without touching the store for an event type none of
their rules reacts to (ingest speed), and still act on the types they do react to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event as sa_event

from engine import events
from engine.events import publish
from engine.simulation import Simulation
from marketing.hooks import install_hooks, load_models
from marketing.rules import install, load_rules
from marketing.stages import load_stages


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


@pytest.fixture
def shipped_hooks():
    """The shipped journeys/ models pinned (scoring, stages, rules); the previous hooks come back after."""
    events.ensure_hooks()
    saved = list(events.EVENT_HOOKS)
    install_hooks(*load_models())
    install(load_rules())
    yield
    events.EVENT_HOOKS[:] = saved


@contextmanager
def statements(store) -> Iterator[list[str]]:
    """The SQL statements `store` runs inside the block."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.strip().split()[0].upper() + " " + statement)

    sa_event.listen(store._engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa_event.remove(store._engine, "before_cursor_execute", note)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


async def test_an_event_type_no_hook_uses_writes_only_the_event(store, sim, shipped_hooks):
    cid = store.create_contact(email="quiet@example.com")
    with statements(store) as bare:
        store.record_event(cid, "feature.used", data={"feature": "f1"})
    with statements(store) as seen:
        result = await publish(sim.env.client, store, cid, "feature.used", data={"feature": "f2"})
    assert result.changed == [] and result.enrolled == []
    assert len(writes(seen)) == len(writes(bare)) > 0  # the event's own insert(s), nothing else
    assert all("events" in s.split("INTO")[1].split()[0] for s in writes(seen) if s.startswith("INSERT"))
    # reads beyond the event's own: the running runs and the rules' unseen score changes, one
    # each; not the contact, its tags or scores (the stage hook), no scoring
    extra = [s for s in seen if s.startswith("SELECT")][len([s for s in bare if s.startswith("SELECT")]):]
    assert sorted("enrolments" if "FROM enrolments" in s else "score_history" if "FROM score_history" in s else s
                  for s in extra) == ["enrolments", "score_history"]
    assert [e.type for e in store.events_for(cid)] == ["feature.used", "feature.used"]


async def test_an_event_type_a_rule_uses_still_fires(store, sim, shipped_hooks):
    cid = store.create_contact(email="buyer@example.com")
    result = await publish(sim.env.client, store, cid, "purchase.completed", data={})
    assert "stage" in result.changed and "tags" in result.changed
    assert store.get_contact(cid).stage == "customer"
    assert [e.data["rule"] for e in store.events_for(cid, type="rule.fired")] == ["purchase-makes-customer"]


async def test_a_score_made_outside_the_event_path_still_moves_the_stage_on_a_scored_event(store, sim, shipped_hooks):
    stages = load_stages("journeys/stages.yaml")
    assert stages.has_score_rules and not stages.reacts_to("feature.used", frozenset({"page.visited"}))
    cid = store.create_contact(email="scored@example.com")
    store.add_score(cid, 60, reason="manual")  # e.g. a journey's score step: no event published
    await publish(sim.env.client, store, cid, "feature.used")
    assert store.get_contact(cid).stage is None  # no rule reacts to feature.used: nothing read
    await publish(sim.env.client, store, cid, "email.opened")  # a scored type: the score rules run
    assert store.get_contact(cid).stage == "mql"


def test_the_stage_index_names_the_types_its_rules_react_to():
    stages = load_stages("journeys/stages.yaml")
    assert {"demo.requested", "trial.started", "purchase.completed"} <= stages.event_types
    assert stages.reacts_to("purchase.completed", frozenset())
    assert stages.reacts_to("score.changed", frozenset())  # score rules: a score change may move
    assert stages.reacts_to("anything", None)  # scored types unknown: check every event, as before
