"""Events with their own time (`publish(at=)`, `cli.py event --at`): refused in the future or
without a zone; a backfilled event (older than BACKFILL_AFTER) is stored and scored at its own
time but starts no journey, satisfies no wait and fires no rule follow-up, now or later."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from compiler import ir
from engine.event_time import (BACKFILL_AFTER, MAX_CLOCK_SKEW, EventTimeError, check_event_time, is_backfill,
                               parse_event_time)
from engine.events import BACKFILLED, publish
from marketing import scoring
from marketing.hooks import install_hooks, load_models
from marketing.rules import install
from tests.journey_builder import journey
from tests.test_rules import HOT_LEAD_RULES, fired, folder, hooks, rules_in, sim  # noqa: F401 - fixtures
from tests.test_tracking_cli import cli  # noqa: F401 - fixture
from tests.tracking_helpers import counts, seed, temporal_client  # noqa: F401 - fixture
from workflows.run_types import QUERY_STATE

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def ago(delta: timedelta) -> datetime:
    return (datetime.now(timezone.utc) - delta).replace(microsecond=0)


# ---------------------------------------------------------------- the time itself


def test_a_time_is_read_with_its_zone_and_kept_in_utc():
    assert parse_event_time("2024-03-01T09:30:00Z", NOW) == datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)
    assert parse_event_time(" 2024-03-01T10:30:00+01:00", NOW) == datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("text,message", [
    ("2024-03-01T09:30:00", "has no time zone"),
    ("2024-03-01", "has no time zone"),
    ("yesterday", "not an ISO 8601 date-time"),
    ("2026-06-01T12:06:00Z", "is in the future"),
    ("1969-12-31T23:59:59Z", "is before 1970-01-01"),
])
def test_bad_times_are_refused_in_one_line(text, message):
    with pytest.raises(EventTimeError, match=message) as info:
        parse_event_time(text, NOW)
    assert "\n" not in str(info.value)


def test_clock_skew_and_the_backfill_line():
    assert check_event_time(NOW + MAX_CLOCK_SKEW, NOW) == NOW + MAX_CLOCK_SKEW  # a sender's clock a bit ahead
    with pytest.raises(EventTimeError):
        check_event_time(NOW + MAX_CLOCK_SKEW + timedelta(seconds=1), NOW)
    assert not is_backfill(None, NOW) and not is_backfill(NOW - BACKFILL_AFTER, NOW)
    assert is_backfill(NOW - BACKFILL_AFTER - timedelta(seconds=1), NOW)


async def test_publish_refuses_a_future_time_before_storing(sim):
    cid = sim.create_contact({"email": "future@example.com"})
    with pytest.raises(EventTimeError):
        await publish(sim.env.client, sim.store, cid, "page.visited", at=ago(-timedelta(hours=1)))
    assert sim.store.events_for(cid) == []


# ---------------------------------------------------------------- what a backfilled event does not do


async def test_a_backfilled_event_starts_no_journey_a_late_one_does(sim):
    j = journey(ir.Exit(id="done", reason="entered"), entry=ir.Entry(kind="event", event="trial.started"))
    sim.store.save_journey_version(j.id, j.version, j.to_dict())
    cid = sim.create_contact({"email": "history@example.com"})
    old, late = ago(timedelta(days=400)), ago(timedelta(hours=2))
    backfilled = await publish(sim.env.client, sim.store, cid, "trial.started", data={"plan": "team"},
                               at=old, journeys={j.id: j}, task_queue=sim.task_queue, deps=sim.deps)
    assert backfilled.backfilled and backfilled.enrolled == []
    delayed = await publish(sim.env.client, sim.store, cid, "trial.started", at=late, journeys={j.id: j},
                            task_queue=sim.task_queue, deps=sim.deps)
    assert not delayed.backfilled and [r.status for r in delayed.enrolled] == ["started"]
    first, second = sim.store.events_for(cid, type="trial.started")
    assert (first.at, first.data) == (old, {"plan": "team", BACKFILLED: True})
    assert (second.at, second.data) == (late, {})


async def test_a_backfilled_event_does_not_satisfy_a_wait(sim, hooks):
    j = journey(
        ir.WaitFor(id="wait", events=(ir.EventCase(event="demo.requested", next="demo"),
                                      ir.EventCase(event="pricing.viewed", next="pricing")),
                   timeout_s=30 * 86400, on_timeout="late"),
        ir.Exit(id="demo", reason="demo"), ir.Exit(id="pricing", reason="pricing"), ir.Exit(id="late", reason="late"),
    )
    install_hooks(load_models()[0], None)  # journeys/scoring.yaml: demo.requested earns points
    cid = sim.create_contact({"email": "waiting@example.com"})
    handle = await sim.start(j, cid)
    while not (await handle.query(QUERY_STATE)).get("waiting"):
        await asyncio.sleep(0.01)
    old = await publish(sim.env.client, sim.store, cid, "demo.requested", at=ago(timedelta(days=30)))
    assert old.changed == ["score"] and old.signalled == 1  # told the profile changed, not of the event
    live = await publish(sim.env.client, sim.store, cid, "pricing.viewed")
    assert live.signalled == 1
    for _ in range(500):
        if (await handle.describe()).status.name != "RUNNING":
            break
        await asyncio.sleep(0.01)
    assert (await handle.result()).reason == "pricing"  # the 30-day-old demo request moved nothing


async def test_backfilled_score_crossings_fire_no_rule_now_or_later(store, sim, folder, hooks):
    install(rules_in(folder, HOT_LEAD_RULES))
    cid = store.create_contact(email="old-lead@example.com")
    for days in (300, 200):
        out = await publish(sim.env.client, store, cid, "demo.requested", at=ago(timedelta(days=days)))
        assert out.backfilled
    assert store.get_scores(cid) == {"global": 100}  # the rule's profile action ran: history explains the score
    await publish(sim.env.client, store, cid, "demo.requested")  # live: 150, but 80 was crossed by history
    assert fired(store, cid) == ["demo-request"] * 3
    assert "sales-alerted" not in store.get_contact(cid).tags
    assert len(store.events_for(cid, type="score.changed")) == 1  # the live event's only


async def test_scoring_and_decay_count_from_the_events_own_time(store, sim, hooks):
    model, _stages = load_models()
    install_hooks(model, None)
    cid = store.create_contact(email="visitor@example.com")
    at = ago(timedelta(days=75))
    out = await publish(sim.env.client, store, cid, "page.visited", data={"url": "https://x.test/pricing"}, at=at)
    assert out.backfilled and "score" in out.changed
    [row] = store.score_history(cid)
    assert (row.at, row.delta, row.value) == (at, 10, 10)
    scoring.decay(store, model, cid, datetime.now(timezone.utc))  # 30 d periods since the visit: two
    assert store.get_scores(cid)["global"] == 2
    assert [r.at for r in store.score_history(cid)[1:]] == [at + timedelta(days=30), at + timedelta(days=60)]


async def test_history_imported_after_newer_activity_is_set_right_by_a_rebuild(store, sim, hooks):
    """Live scoring adds an older event's points without the decay that followed it (documented);
    `cli.py scores rebuild` replays the log in time order and gets what live scoring would have."""
    model, _stages = load_models()
    install_hooks(model, None)
    cid = store.create_contact(email="returning@example.com")
    pricing = {"url": "https://x.test/pricing"}
    await publish(sim.env.client, store, cid, "page.visited", data=pricing)
    await publish(sim.env.client, store, cid, "page.visited", data=pricing, at=ago(timedelta(days=75)))
    assert store.get_scores(cid)["global"] == 20
    scoring.rebuild(store, model, cid)
    assert store.get_scores(cid)["global"] == 12  # 10 halved twice (to 2) before today's 10


# ---------------------------------------------------------------- the CLI


def test_cli_event_at_backfills(sqlite_store, cli):  # noqa: F811
    cid = seed(sqlite_store)
    at = ago(timedelta(days=3))
    out = cli("event", str(cid), "trial.started", "--at", at.isoformat().replace("+00:00", "Z"))
    assert out.returncode == 0, out.stderr
    [event] = sqlite_store.events_for(cid, type="trial.started")
    assert event.at == at and "backfilled (older than 24h)" in out.stdout


@pytest.mark.parametrize("when,message", [
    (lambda: (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(), "is in the future"),
    (lambda: "2024-03-01T09:30:00", "has no time zone"),
])
def test_cli_event_at_refusals_are_one_line_and_store_nothing(sqlite_store, cli, when, message):  # noqa: F811
    cid = seed(sqlite_store)
    before = counts(sqlite_store)
    out = cli("event", str(cid), "trial.started", "--at", when())
    assert out.returncode == 1 and out.stderr.startswith("error: --at:") and message in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert counts(sqlite_store) == before
