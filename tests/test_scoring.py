"""Lead scoring rules on SQLite and PostgreSQL: events go through engine.events.publish
(a real Temporal client from the time-skipping server) or the hook as publish calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from devstack import binaries

from engine import events
from engine.events import EVENT_HOOKS, publish
from marketing.hooks import install_hooks
from marketing.scoring import decay, rebuild, scoring_hook
from marketing.scoring_model import ScoringModel, load_scoring
from store import Store

MODEL = """\
temperature:
  default: {warm: 30, hot: 70}
  levels: {"tag:webinar": {warm: 5, hot: 15}}
decay: {after: 30d, factor: 0.5}
rules:
  - {id: open, event: email.opened, points: 1, cap: {points: 3, per: 7d}}
  - {id: pricing, event: page.visited, where: [{field: url, contains: /Pricing}], points: 10, levels: [global, stage]}
  - {id: docs, event: page.visited, where: [{field: url, matches: '^https://docs\\.'}], points: 2}
  - {id: plan, event: trial.started, where: [{field: plan, in: [pro, team]}], points: 20}
  - {id: big-order, event: order.placed, where: [{field: total.currency, equals: EUR}], points: 5}
  - {id: webinar, event: webinar.attended, points: 15, levels: [global, "tag:webinar"]}
  - {id: unsubscribed, event: email.unsubscribed, points: -20}
"""
T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)  # after the contacts exist


@pytest.fixture(scope="session")
async def temporal_client() -> AsyncIterator[Client]:
    """A client of Temporal's time-skipping test server (publish signals running journeys)."""
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binaries.test_server()) as env:
        yield env.client


def isolate_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the hooks a test installs: no other defaults (automation rules) load lazily."""
    monkeypatch.setattr(events, "DEFAULT_HOOK_MODULES", [])
    EVENT_HOOKS.clear()


@pytest.fixture
def model(tmp_path: Path) -> ScoringModel:
    path = tmp_path / "scoring.yaml"
    path.write_text(MODEL)
    return load_scoring(path)


@pytest.fixture
def hooks(model: ScoringModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    saved = list(EVENT_HOOKS)
    isolate_hooks(monkeypatch)
    install_hooks(model, None)
    yield
    EVENT_HOOKS[:] = saved


def fire(store: Store, model: ScoringModel, cid: int, type: str, at: datetime, **data: object) -> list[str]:
    """Store an event at `at` and run the scoring hook on it, as publish does."""
    event_id = store.record_event(cid, type, data=data, at=at)
    return scoring_hook(model)(store, cid, type, data, event_id)


async def test_rules_through_publish(store: Store, temporal_client, hooks: None) -> None:
    cid = store.create_contact(email="ana@example.com", stage="lead")
    events = [
        ("page.visited", {"url": "https://example.com/pricing?x=1"}),  # contains, case-insensitive: +10
        ("page.visited", {"url": "https://docs.example.com/start"}),  # matches: +2
        ("page.visited", {"url": "https://example.com/blog"}),  # no rule: 0
        ("trial.started", {"plan": "team"}),  # in: +20
        ("trial.started", {"plan": "free"}),  # not in: 0
        ("order.placed", {"total": {"currency": "EUR"}}),  # dotted equals: +5
        ("email.unsubscribed", {}),  # negative: -20
    ]
    changed = [await publish(temporal_client, store, cid, t, data=d) for t, d in events]
    assert [p.changed for p in changed] == [["score"], ["score"], [], ["score"], [], ["score"], ["score"]]
    assert store.get_scores(cid) == {"global": 17, "stage:lead": 10}
    history = store.score_history(cid, level="global")
    assert [(h.delta, h.value) for h in history] == [(10, 10), (2, 12), (20, 32), (5, 37), (-20, 17)]
    first = changed[0].event_id
    assert history[0].reason == f"rule pricing: page.visited (event {first})"


def test_the_hook_scores_the_event_it_is_given_not_the_latest_of_its_type(store: Store, model: ScoringModel) -> None:
    """Two visits of one contact stored at once (two tracking requests): each hook call scores its own."""
    cid = store.create_contact(email="cy@example.com")
    pricing = store.record_event(cid, "page.visited", data={"url": "https://example.com/pricing"})
    docs = store.record_event(cid, "page.visited", data={"url": "https://docs.example.com/start"})
    hook = scoring_hook(model)
    assert hook(store, cid, "page.visited", {"url": "https://example.com/pricing"}, pricing) == ["score"]
    assert hook(store, cid, "page.visited", {"url": "https://docs.example.com/start"}, docs) == ["score"]
    assert hook(store, cid, "page.visited", {"url": "https://docs.example.com/start"}, docs) == []  # once only
    reasons = [h.reason for h in store.score_history(cid, level="global")]
    assert reasons == [f"rule pricing: page.visited (event {pricing})", f"rule docs: page.visited (event {docs})"]
    assert store.get_scores(cid)["global"] == 12
    assert hook(store, cid, "page.visited", {}, 10**9) == []  # an id that is no event: nothing


async def test_cap_per_period_through_publish(store: Store, temporal_client, hooks: None, model: ScoringModel) -> None:
    cid = store.create_contact(email="bo@example.com")
    for _ in range(5):
        await publish(temporal_client, store, cid, "email.opened")
    assert store.get_scores(cid) == {"global": 3}  # at most 3 per 7 days
    # a week later the window has room again (the hook, with explicit times)
    other = store.create_contact(email="cy@example.com")
    for day in (0, 1, 2, 3, 8, 9, 10, 11):
        fire(store, model, other, "email.opened", T0 + timedelta(days=day))
    assert store.get_scores(other) == {"global": 6}


async def test_levels_and_temperature(store: Store, temporal_client, hooks: None, model: ScoringModel) -> None:
    cid = store.create_contact(email="di@example.com", stage="mql")
    await publish(temporal_client, store, cid, "webinar.attended")
    await publish(temporal_client, store, cid, "page.visited", data={"url": "/pricing"})
    scores = store.get_scores(cid)
    assert scores == {"global": 25, "tag:webinar": 15, "stage:mql": 10}
    assert [model.temperature(level, scores[level]) for level in ("global", "tag:webinar", "stage:mql")] == ["cold", "hot", "cold"]
    assert model.temperature("global", 30) == "warm" and model.temperature("global", 70) == "hot"


def test_likely_bot_events_earn_nothing(store: Store, model: ScoringModel) -> None:
    cid = store.create_contact(email="ed@example.com")
    assert fire(store, model, cid, "email.opened", T0, likely_bot=True) == []
    assert store.get_scores(cid) == {}


def test_decay_lazily_before_an_event_and_by_command(store: Store, model: ScoringModel) -> None:
    cid = store.create_contact(email="fa@example.com")
    fire(store, model, cid, "trial.started", T0, plan="pro")  # 20
    fire(store, model, cid, "page.visited", T0 + timedelta(days=45), url="/blog")  # no rule: no decay either
    fire(store, model, cid, "order.placed", T0 + timedelta(days=45), total={"currency": "EUR"})  # 20 -> 10 at day 30, +5
    rows = store.score_history(cid)
    assert [(r.delta, r.value, r.at - T0) for r in rows][1:] == [(-10, 10, timedelta(days=30)), (5, 15, timedelta(days=45))]
    assert rows[1].reason == "decay x0.5 after 30d without activity"
    assert decay(store, model, cid, T0 + timedelta(days=100)) != []  # day 75 (15 -> 7), day 105 not yet
    assert store.get_scores(cid) == {"global": 7}
    assert decay(store, model, cid, T0 + timedelta(days=100)) == []  # idempotent
    assert decay(store, model, cid, T0 + timedelta(days=106))[0].value == 3


def test_rebuild_gives_the_live_result(store: Store, model: ScoringModel) -> None:
    cid = store.create_contact(email="gu@example.com", stage="lead")
    store.add_score(cid, 7, reason="journey welcome step bonus")  # a manual change, kept by rebuild
    fire(store, model, cid, "webinar.attended", T0)
    for day in range(5):
        fire(store, model, cid, "email.opened", T0 + timedelta(days=day, hours=1))
    fire(store, model, cid, "page.visited", T0 + timedelta(days=50), url="/pricing")
    fire(store, model, cid, "email.unsubscribed", T0 + timedelta(days=51))
    decay(store, model, cid, T0 + timedelta(days=120))
    live_scores = store.get_scores(cid)
    live = [(r.level, r.delta, r.value, r.reason, r.at) for r in store.score_history(cid)]
    assert any(r[3].startswith("decay") for r in live) and "stage:lead" in live_scores
    rebuild(store, model, cid)
    assert store.get_scores(cid) == live_scores
    assert [(r.level, r.delta, r.value, r.reason, r.at) for r in store.score_history(cid)] == live
