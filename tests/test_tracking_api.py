"""`POST /v1/events` and `GET /healthz` against the real app and store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.events import BACKFILLED
from marketing.segments import load_segments, segment_members
from tests.tracking_helpers import API_TOKEN, ROOT, counts, http, make_app, seed, temporal_client

pytestmark = pytest.mark.asyncio
_ = temporal_client
AUTH = {"authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


async def test_healthz(store, app):
    async with http(app) as c:
        r = await c.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}


@pytest.mark.parametrize("ref", ["id", "external_id", "email"])
async def test_event_by_each_kind_of_contact_reference(store, app, ref):
    cid = seed(store, email="Grace@Example.com")
    value = {"id": cid, "external_id": "ext-Grace@Example.com", "email": "grace@example.com"}[ref]
    async with http(app) as c:
        r = await c.post("/v1/events", headers=AUTH,
                         json={"contact": {ref: value}, "type": "trial.started", "data": {"plan": "team"}})
    assert r.status_code == 202
    [event] = store.events_for(cid, type="trial.started")
    assert r.json() == {"event_id": event.id} and event.data == {"plan": "team"}


@pytest.mark.parametrize(
    "headers,status",
    [({}, 401), ({"authorization": "Bearer wrong-token"}, 401), ({"authorization": f"Basic {API_TOKEN}"}, 401),
     ({"authorization": "Bearer "}, 401)],
    ids=["no-token", "wrong-token", "wrong-scheme", "empty-token"],
)
async def test_api_refuses_without_the_right_token(store, app, headers, status):
    cid = seed(store)
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/v1/events", headers=headers, json={"contact": {"id": cid}, "type": "trial.started"})
    assert r.status_code == status and "error" in r.json() and r.headers["www-authenticate"].startswith("Bearer")
    assert counts(store) == before


BAD_BODIES = {
    "not-json": (400, b"{not json"),
    "nan": (400, b'{"contact": {"id": 1}, "type": "a.b", "data": {"x": NaN}}'),
    "array": (422, b"[1, 2]"),
    "no-contact": (422, b'{"type": "trial.started"}'),
    "two-refs": (422, b'{"contact": {"id": 1, "email": "ada@example.com"}, "type": "trial.started"}'),
    "bool-id": (422, b'{"contact": {"id": true}, "type": "trial.started"}'),
    "bad-type": (422, b'{"contact": {"id": 1}, "type": "Trial Started"}'),
    "dot-type": (422, b'{"contact": {"id": 1}, "type": "trial..started"}'),
    "data-list": (422, b'{"contact": {"id": 1}, "type": "trial.started", "data": [1]}'),
    "extra-field": (422, b'{"contact": {"id": 1}, "type": "trial.started", "at": "now"}'),
    "nul": (422, b'{"contact": {"id": 1}, "type": "trial.started", "data": {"x": "a\\u0000b"}}'),
    "unknown-id": (404, b'{"contact": {"id": 999999}, "type": "trial.started"}'),
    "unknown-email": (404, b'{"contact": {"email": "nobody@example.com"}, "type": "trial.started"}'),
    "not-an-email": (404, b'{"contact": {"email": "not an address"}, "type": "trial.started"}'),
    "future-timestamp": (400, b'{"contact": {"id": 1}, "type": "a.b", "timestamp": "2999-01-01T00:00:00Z"}'),
    "naive-timestamp": (400, b'{"contact": {"id": 1}, "type": "a.b", "timestamp": "2024-03-01T09:30:00"}'),
    "bad-timestamp": (400, b'{"contact": {"id": 1}, "type": "a.b", "timestamp": "last tuesday"}'),
    "number-timestamp": (422, b'{"contact": {"id": 1}, "type": "a.b", "timestamp": 1709285400}'),
    "oversize": (413, json.dumps({"contact": {"id": 1}, "type": "a.b", "data": {"x": "y" * 70_000}}).encode()),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_api_bad_input_gets_a_json_4xx_and_stores_nothing(store, app, case):
    seed(store)
    status, body = BAD_BODIES[case]
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/v1/events", headers={**AUTH, "content-type": "application/json"}, content=body)
    assert r.status_code == status and isinstance(r.json()["error"], str)
    assert counts(store) == before


async def test_erased_contact_is_unknown(store, app):
    cid = seed(store)
    store.erase_contact(cid)
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/v1/events", headers=AUTH, json={"contact": {"id": cid}, "type": "trial.started"})
    assert r.status_code == 404 and counts(store) == before


async def test_api_without_temporal_is_503_and_stores_nothing(store):
    cid = seed(store)
    before = counts(store)
    async with http(make_app(store, None)) as c:
        r = await c.post("/v1/events", headers=AUTH, json={"contact": {"id": cid}, "type": "trial.started"})
    assert r.status_code == 503 and r.headers["retry-after"] and counts(store) == before


async def test_timestamp_is_the_events_own_time_for_segments(store, app):
    """Visits imported with their times count for `within: 14d` by those times, not by arrival."""
    cid = seed(store)
    segments = load_segments(ROOT / "journeys" / "segments.yaml")

    async def visits(days_ago: float) -> list[datetime]:
        times = [(datetime.now(timezone.utc) - timedelta(days=days_ago, minutes=i)).replace(microsecond=0)
                 for i in range(3)]
        async with http(app) as c:
            for at in times:
                r = await c.post("/v1/events", headers=AUTH, json={
                    "contact": {"id": cid}, "type": "page.visited", "data": {"url": "https://x.test/pricing"},
                    "timestamp": at.isoformat()})
                assert r.status_code == 202
        return times

    old = await visits(20)
    assert [e.at for e in store.events_for(cid, type="page.visited")] == sorted(old)
    assert cid not in segment_members(store, "pricing-interest", segments=segments)
    await visits(2)
    assert cid in segment_members(store, "pricing-interest", segments=segments)
    assert all(e.data[BACKFILLED] for e in store.events_for(cid, type="page.visited"))


async def test_a_timestamp_within_the_clock_skew_is_accepted_as_live(store, app):
    cid = seed(store)
    ahead = (datetime.now(timezone.utc) + timedelta(minutes=1)).replace(microsecond=0)
    async with http(app) as c:
        r = await c.post("/v1/events", headers=AUTH, json={"contact": {"id": cid}, "type": "trial.started",
                                                          "timestamp": ahead.isoformat().replace("+00:00", "Z")})
    assert r.status_code == 202
    [event] = store.events_for(cid, type="trial.started")
    assert event.at == ahead and BACKFILLED not in event.data
