"""The Segment-compatible tracking API (tracking/segment_api.py): the real Segment Python client
against the tracking server on 127.0.0.1, and raw HTTP for every refusal, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from segment.analytics import Client as SegmentClient

from devstack.uvicorn_thread import UvicornThread
from marketing.segments import load_segments, segment_members
from tests.tracking_helpers import API_TOKEN, MODEL, PUBLIC_URL, ROOT, SIGNER, TWILIO_TOKEN, counts, temporal_client
from tracking.server import create_app

pytestmark = pytest.mark.asyncio
_ = temporal_client
WRITE_KEY = "wk-site-0123456789"
OLD_KEY = "wk-rotated-out-soon"
SEGMENTS = load_segments(ROOT / "journeys" / "segments.yaml")


def basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


AUTH = basic(WRITE_KEY)


def build(store, client, rate: str = "1000/second"):
    async def provider():
        if client is None:
            raise ConnectionError("Temporal is not running in this test")
        return client

    return create_app(store=store, signer=SIGNER, client_provider=provider, api_tokens=[API_TOKEN],
                      twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, consent_model=MODEL,
                      write_keys=[WRITE_KEY, OLD_KEY], ingest_rate=rate)


def http(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 4711)), base_url=PUBLIC_URL)


def state(store) -> tuple:
    """Everything a refused call must leave as it was."""
    return counts(store), store.contact_ids(include_erased=True), store.anonymous_ids_of(1)


def ingested(store, cid: int) -> list[str]:
    """The contact's events from messages (not those the marketing model adds: score.changed, rule.fired)."""
    return [e.type for e in store.events_for(cid) if e.type not in ("score.changed", "rule.fired")]


def page(anonymous_id: str, path: str = "/pricing", **extra) -> dict:
    return {"type": "page", "anonymousId": anonymous_id, "messageId": str(uuid.uuid4()), "name": "Pricing",
            "properties": {"url": f"https://example.com{path}", "path": path, "title": "Pricing"}, **extra}


@pytest.fixture
async def app(store, temporal_client):
    return build(store, temporal_client)


async def test_real_segment_client_anonymous_visits_then_identify(store, app):
    """The issue's scenario: 3 anonymous /pricing visits, identify -> pricing-interest member, score moved once."""
    errors: list = []
    with UvicornThread(app, name="tracking") as server:
        crm = SegmentClient(WRITE_KEY, host=server.url, sync_mode=True, on_error=lambda e, b: errors.append(e),
                            max_retries=0)

        def visits() -> None:
            for _ in range(3):
                crm.page(anonymous_id="browser-1", category="Docs", name="Pricing",
                         properties={"url": "https://example.com/pricing?plan=team", "path": "/pricing"},
                         context={"campaign": {"source": "newsletter", "medium": "email", "name": "spring"}})

        def site() -> None:
            crm.identify("crm-777", {"email": "ada@example.com", "firstName": "Ada", "plan": "trial"},
                         anonymous_id="browser-1")
            crm.track("crm-777", "Demo Requested", {"seats": 5}, message_id="demo-1")
            crm.track("crm-777", "Demo Requested", {"seats": 5}, message_id="demo-1")  # a retry

        await asyncio.to_thread(visits)
        anonymous = store.contact_of_anonymous_id("browser-1")
        assert store.is_anonymous(anonymous) and store.get_scores(anonymous)["global"] == 30
        assert segment_members(store, "pricing-interest", segments=SEGMENTS) == []  # no one to reach yet
        await asyncio.to_thread(site)
    assert errors == []
    cid = store.find_contact(external_id="crm-777").id
    assert store.find_contact(email="ada@example.com").id == cid and not store.is_anonymous(cid)
    events = store.events_for(cid)
    assert [e.type for e in events if e.type not in ("score.changed", "rule.fired")] == ["page.visited"] * 3 + ["demo.requested"]
    visit = events[0].data
    assert visit["url"] == "https://example.com/pricing?plan=team" and visit["utm_source"] == "newsletter"
    assert visit["utm_campaign"] == "spring" and visit["name"] == "Pricing" and visit["category"] == "Docs"
    assert cid in segment_members(store, "pricing-interest", segments=SEGMENTS)
    assert store.get_scores(cid)["global"] == 60  # 3 x 10 for pricing + 30 for the demo, each once
    assert len([h for h in store.score_history(cid) if "pricing-visit" in h.reason and h.level == "global"]) == 3


async def test_real_client_batches_and_a_replay_adds_nothing(store, app):
    sent: list[dict] = []
    with UvicornThread(app, name="tracking") as server:
        crm = SegmentClient(WRITE_KEY, host=server.url, upload_size=50, max_retries=0, send=True)

        def send() -> None:
            for i in range(120):
                ok, msg = crm.track(f"user-{i % 7}", "trial.started", {"n": i},
                                    timestamp=datetime.now(timezone.utc) - timedelta(minutes=1))
                sent.append(msg)
            crm.flush()

        await asyncio.to_thread(send)
        crm.shutdown()
    assert sum(len(store.events_for(c, type="trial.started")) for c in store.contact_ids()) == 120
    before = state(store)
    async with http(app) as c:
        for i in range(0, 120, 50):
            r = await c.post("/v1/batch", headers=AUTH, json={"batch": sent[i:i + 50]})
            assert r.status_code == 200 and all(x["status"] == 200 and x["duplicate"] for x in r.json()["results"])
    assert state(store) == before


async def test_batch_with_bad_messages_keeps_the_good_ones(store, app):
    good, retried = page("a-1"), page("a-2")
    body = {"batch": [
        good,
        {"type": "identify", "userId": "u-1", "messageId": "m-bad-email", "traits": {"email": "not an address"}},
        {"type": "identify", "userId": "u-2", "messageId": "m-bad-phone", "traits": {"phone": "12"}},
        {"type": "track", "messageId": "m-no-ids", "event": "x.y"},
        {"type": "track", "userId": "u-3", "messageId": "m-no-event"},
        {"type": "group", "userId": "u-3", "messageId": "m-group", "groupId": "g"},
        {"type": "track", "userId": "u-3", "event": "x.y"},
        {"type": "track", "userId": "u-3", "messageId": "m-future", "event": "x.y", "timestamp": "2999-01-01T00:00:00Z"},
        {"type": "track", "userId": "u-3", "messageId": "m-nul", "event": "x.y", "properties": {"a": "b\u0000"}},
        {"type": "track", "userId": "u-3", "messageId": "m-big", "event": "x.y", "properties": {"a": "x" * 33_000}},
        "not an object",
        retried,
    ]}
    async with http(app) as c:
        r = await c.post("/v1/batch", headers=AUTH, json=body)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200] + [400] * 10 + [200]
    paths = [x.get("path") for x in results]
    assert paths[1:6] == ["traits.email", "traits.phone", "userId", "event", "type"]
    assert paths[6:9] == ["messageId", "timestamp", "properties.a"]
    assert all(x["error"] for x in results[1:11])
    assert store.find_contact(external_id="u-1") is None and store.find_contact(external_id="u-3") is None
    anon = store.contact_of_anonymous_id("a-1")
    assert ingested(store, anon) == ["page.visited"]
    # retried after that partial failure: each message recorded once
    async with http(app) as c:
        again = await c.post("/v1/batch", headers=AUTH, json=body)
    assert [x["status"] for x in again.json()["results"]] == [x["status"] for x in results]
    assert ingested(store, anon) == ["page.visited"]
    assert ingested(store, store.contact_of_anonymous_id("a-2")) == ["page.visited"]


async def test_single_calls_and_their_400s_change_nothing(store, app):
    async with http(app) as c:
        ok = await c.post("/v1/identify", headers=AUTH, json={"userId": "crm-1", "messageId": "i-1",
                                                                 "traits": {"email": "ada@example.com"}})
        assert ok.status_code == 200 and ok.json() == {"success": True}
        before = state(store)
        for path, body, where in [
            ("/v1/identify", {"userId": "crm-1", "messageId": "i-2", "traits": {"email": "nope"}}, "traits.email"),
            ("/v1/identify", {"userId": "crm-1", "messageId": "i-3", "traits": {"phone": "+1 555"}}, "traits.phone"),
            ("/v1/track", {"userId": "crm-1", "messageId": "t-1"}, "event"),
            ("/v1/track", {"userId": "crm-1", "event": "x.y"}, "messageId"),
            ("/v1/page", {"messageId": "p-1", "properties": {"url": "https://e.com/pricing"}}, "userId"),
            ("/v1/alias", {"userId": "crm-1", "messageId": "al-1"}, "previousId"),
            ("/v1/track", {"userId": "crm-1", "messageId": "t-2", "event": "x.y", "timestamp": "2024-03-01T09:30:00"},
             "timestamp"),
        ]:
            r = await c.post(path, headers=AUTH, json=body)
            assert r.status_code == 400 and r.json()["path"] == where and r.json()["error"], (path, body, r.text)
        for raw in (b"{not json", b"[1, 2]"):
            r = await c.post("/v1/track", headers=AUTH, content=raw)
            assert r.status_code == 400 and r.json()["error"]
        r = await c.post("/v1/track", headers=AUTH, json={"userId": "crm-1", "messageId": "t-3", "event": "x.y",
                                                           "properties": {"a": "x" * 33_000}})
        assert r.status_code == 413
        r = await c.post("/v1/batch", headers=AUTH, json={"batch": [page("a", properties={"x": "y" * 20_000})
                                                                     for _ in range(30)]})
        assert r.status_code == 413
    assert state(store) == before


@pytest.mark.parametrize("headers", [{}, basic("wrong-key"), {"authorization": "Bearer wrong"},
                                     {"authorization": "Basic !!notbase64"}, {"authorization": f"Token {WRITE_KEY}"}],
                         ids=["none", "wrong-key", "wrong-bearer", "bad-basic", "other-scheme"])
async def test_401_without_a_valid_key_stores_nothing(store, app, headers):
    before = state(store)
    async with http(app) as c:
        r = await c.post("/v1/page", headers=headers, json=page("a-1"))
        b = await c.post("/v1/batch", headers=headers, json={"batch": [page("a-1")], "writeKey": "wrong"})
    assert r.status_code == b.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert state(store) == before


async def test_every_key_kind_is_accepted_and_keys_rotate(store, app):
    async with http(app) as c:
        for headers, body in [
            (basic(OLD_KEY), page("k-1")),
            ({"authorization": f"Bearer {API_TOKEN}"}, page("k-2")),
            ({}, {"batch": [page("k-3")], "writeKey": WRITE_KEY}),
        ]:
            r = await c.post("/v1/batch" if "batch" in body else "/v1/page", headers=headers, json=body)
            assert r.status_code == 200, r.text
        gz = gzip.compress(json.dumps({"batch": [page("k-4")]}).encode())
        r = await c.post("/v1/batch", headers={**AUTH, "content-encoding": "gzip",
                                                "content-type": "application/json"}, content=gz)
        assert r.status_code == 200, r.text
    assert all(store.contact_of_anonymous_id(f"k-{i}") for i in range(1, 5))


async def test_same_message_id_from_two_keys_is_two_messages(store, app):
    msg = page("a-1")
    async with http(app) as c:
        await c.post("/v1/page", headers=AUTH, json=msg)
        await c.post("/v1/page", headers=AUTH, json=msg)
        await c.post("/v1/page", headers=basic(OLD_KEY), json=msg)
    assert ingested(store, store.contact_of_anonymous_id("a-1")) == ["page.visited"] * 2


async def test_rate_limit_answers_429_with_retry_after(store, temporal_client):
    app = build(store, temporal_client, rate="2/minute")
    async with http(app) as c:
        assert [(await c.post("/v1/page", headers=AUTH, json=page("a-1"))).status_code for _ in range(2)] == [200, 200]
        r = await c.post("/v1/page", headers=AUTH, json=page("a-1"))
        other = await c.post("/v1/page", headers=basic(OLD_KEY), json=page("a-2"))  # per key
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60 and other.status_code == 200
    assert ingested(store, store.contact_of_anonymous_id("a-1")) == ["page.visited"] * 2  # the 429 stored nothing
    assert ingested(store, store.contact_of_anonymous_id("a-2")) == ["page.visited"]


async def test_clock_skew_is_corrected_with_sent_at(store, app):
    now = datetime.now(timezone.utc)
    # a device whose clock is 2 hours fast: it says the visit was 2 h 10 min from now, sent 2 h from now
    msg = page("a-1", timestamp=(now + timedelta(hours=2, minutes=-10)).isoformat(),
               sentAt=(now + timedelta(hours=2)).isoformat())
    async with http(app) as c:
        assert (await c.post("/v1/page", headers=AUTH, json=msg)).status_code == 200
    [event] = store.events_for(store.contact_of_anonymous_id("a-1"), type="page.visited")
    assert abs((event.at - (now - timedelta(minutes=10))).total_seconds()) < 5


async def test_alias_ties_an_earlier_id(store, app):
    async with http(app) as c:
        await c.post("/v1/page", headers=AUTH, json=page("a-1"))
        await c.post("/v1/identify", headers=AUTH, json={"userId": "old-id", "messageId": "i-1"})
        for n, (prev, new) in enumerate([("a-1", "crm-9"), ("old-id", "crm-10")]):
            r = await c.post("/v1/alias", headers=AUTH, json={"previousId": prev, "userId": new, "messageId": f"al-{n}"})
            assert r.status_code == 200, r.text
        clash = await c.post("/v1/alias", headers=AUTH, json={"previousId": "crm-9", "userId": "crm-10",
                                                               "messageId": "al-9"})
    assert clash.status_code == 400 and clash.json()["path"] == "previousId"
    known = store.find_contact(external_id="crm-9")
    assert ingested(store, known.id) == ["page.visited"]
    assert store.find_contact(external_id="old-id").id == store.find_contact(external_id="crm-10").id


async def test_without_temporal_503_and_nothing_stored(store):
    app = build(store, None)
    async with http(app) as c:
        r = await c.post("/v1/batch", headers=AUTH, json={"batch": [page("a-1")]})
    assert r.status_code == 503 and r.headers["retry-after"] and counts(store)[0] == 0


async def test_batch_retried_after_temporal_failed_midway_records_each_message_once(store, temporal_client):
    async def flaky():  # Temporal goes away once two messages of the batch are in
        if sum(bool(store.contact_of_anonymous_id(f"a-{i}")) for i in range(4)) >= 2:
            raise ConnectionError("Temporal went away")
        return temporal_client

    app = create_app(store=store, signer=SIGNER, client_provider=flaky, api_tokens=[API_TOKEN],
                     twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, consent_model=MODEL, write_keys=[WRITE_KEY])
    body = {"batch": [page(f"a-{i}") for i in range(4)]}
    async with http(app) as c:
        first = await c.post("/v1/batch", headers=AUTH, json=body)
    assert first.status_code == 503 and first.headers["retry-after"]
    def visits() -> list[int]:
        return [len(ingested(store, cid)) if (cid := store.contact_of_anonymous_id(f"a-{i}")) else 0 for i in range(4)]

    assert visits() == [1, 0, 0, 0]  # the second message's profile exists, its event was not stored
    async with http(build(store, temporal_client)) as c:
        again = await c.post("/v1/batch", headers=AUTH, json=body)
    assert [(r["status"], r.get("duplicate", False)) for r in again.json()["results"]] == \
        [(200, True), (200, False), (200, False), (200, False)]
    assert visits() == [1, 1, 1, 1]
