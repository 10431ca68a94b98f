"""Benchmark the Segment-compatible ingestion (tracking/segment_api.py), SQLite and PostgreSQL.

`python -m bench ingest [--messages 10000] [--users 1000] [--batch 100] [--singles 500] [--pg URL]`

For each store, in the same run:
- api: the messages (Segment `track` calls of `feature.used`, over --users users, each new user
  created by its first message) POSTed to `/v1/batch` in batches of --batch, over real HTTP to
  the tracking server (uvicorn on 127.0.0.1) with a real Temporal client (time-skipping test
  server): auth, parsing, idempotency claim, identify, engine.events.publish (hooks, running runs);
- baseline: the same events inserted straight into a fresh store of the same kind
  (create_contact on a user's first event, then record_event), no HTTP, no hooks;
- direct: the same events through engine.events.publish in-process (the event path without HTTP
  and idempotency), to show where the time goes;
- replay: every batch POSTed again: must add 0 events (all answered as duplicates);
- singles: --singles `/v1/track` calls one at a time, p50/p99 latency.
Target: api >= 0.5 x baseline events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.import_contacts import PG_URL, pg_schema

TARGET_RATIO = 0.5
KEY = "bench-write-key"
AUTH = {"authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


def messages(n: int, users: int, seed: str) -> list[dict[str, Any]]:
    """`n` Segment track messages, round-robin over `users` users, stamped over the last hour."""
    now = datetime.now(timezone.utc)
    return [{"type": "track", "userId": f"bench-{seed}-{i % users}", "event": "Feature Used",
             "messageId": f"{seed}-{i}", "properties": {"feature": f"f{i % 13}", "n": i},
             "timestamp": (now - timedelta(seconds=3600 - i * 3600 / n)).isoformat(),
             "context": {"library": {"name": "analytics-python"}}} for i in range(n)]


def event_count(store: Any) -> int:
    from store import schema

    return int(store.read_rows(select(func.count()).select_from(schema.events))[0][0])


def baseline(url: str, msgs: list[dict[str, Any]]) -> float:
    """Seconds to insert the same events straight into the store."""
    from store import Store

    with Store.open(url) as store:
        start = time.perf_counter()
        ids: dict[str, int] = {}
        for m in msgs:
            cid = ids.get(m["userId"])
            if cid is None:
                cid = ids[m["userId"]] = store.create_contact(external_id=m["userId"])
            store.record_event(cid, "feature.used", data=m["properties"], at=datetime.fromisoformat(m["timestamp"]))
        return time.perf_counter() - start


async def direct(url: str, msgs: list[dict[str, Any]], client: Any) -> float:
    """Seconds to publish the same events in-process (engine.events.publish)."""
    from engine.events import ensure_hooks, publish
    from store import Store

    ensure_hooks()
    with Store.open(url) as store:
        start = time.perf_counter()
        ids: dict[str, int] = {}
        for m in msgs:
            cid = ids.get(m["userId"])
            if cid is None:
                cid = ids[m["userId"]] = await asyncio.to_thread(store.create_contact, external_id=m["userId"])
            await publish(client, store, cid, "feature.used", data=m["properties"],
                          at=datetime.fromisoformat(m["timestamp"]))
        return time.perf_counter() - start


async def post_batches(http: httpx.AsyncClient, msgs: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    results = []
    for i in range(0, len(msgs), size):
        r = await http.post("/v1/batch", headers=AUTH,
                            json={"batch": msgs[i:i + size], "sentAt": datetime.now(timezone.utc).isoformat()})
        r.raise_for_status()
        results.extend(r.json()["results"])
    return results


async def api(url: str, msgs: list[dict[str, Any]], size: int, singles: int, client: Any) -> dict[str, Any]:
    from compiler.consent_model import load_consent_model
    from devstack.uvicorn_thread import UvicornThread
    from store import Store
    from tracking.server import create_app
    from tracking.tokens import DEV_KEY, TokenSigner

    async def provider() -> Any:
        return client

    with Store.open(url) as store:
        app = create_app(store=store, signer=TokenSigner([DEV_KEY]), client_provider=provider, api_tokens=[],
                         twilio_auth_token="x", public_url="http://127.0.0.1", consent_model=load_consent_model(),
                         write_keys=[KEY],
                         ingest_rate="1000000/second")
        with UvicornThread(app, name="bench-tracking") as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                start = time.perf_counter()
                results = await post_batches(http, msgs, size)
                took = time.perf_counter() - start
                failed = [r for r in results if r["status"] != 200]
                stored = event_count(store)
                start = time.perf_counter()
                replayed = await post_batches(http, msgs, size)
                replay_s = time.perf_counter() - start
                added = event_count(store) - stored
                latencies = []
                for m in messages(singles, 50, f"single-{uuid.uuid4().hex[:6]}"):
                    start = time.perf_counter()
                    r = await http.post("/v1/track", headers=AUTH, json=m)
                    latencies.append((time.perf_counter() - start) * 1000)
                    r.raise_for_status()
    latencies.sort()
    return {"took": took, "failed": len(failed), "stored": stored, "replay_s": replay_s, "added": added,
            "duplicates": sum(bool(r.get("duplicate")) for r in replayed),
            "p50": statistics.median(latencies), "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


async def run_store(label: str, make_url: Callable[[str], Any], args: argparse.Namespace, client: Any) -> bool:
    msgs = messages(args.messages, args.users, uuid.uuid4().hex[:8])
    n = len(msgs)
    with make_url("api") as api_url, make_url("base") as base_url, make_url("direct") as direct_url:
        if None in (api_url, base_url, direct_url):
            return True
        r = await api(api_url, msgs, args.batch, args.singles, client)
        base = await asyncio.to_thread(baseline, base_url, msgs)
        dire = await direct(direct_url, msgs, client)
    ratio = base / r["took"]
    print(f"{label:10} api /v1/batch  {n:,} messages in {r['took']:6.2f} s = {n / r['took']:7,.0f} events/s "
          f"({r['failed']} refused, {r['stored']:,} events stored)")
    print(f"{label:10} baseline       {n:,} events   in {base:6.2f} s = {n / base:7,.0f} events/s "
          f"(create_contact + record_event straight into the store)")
    print(f"{label:10} direct publish {n:,} events   in {dire:6.2f} s = {n / dire:7,.0f} events/s "
          f"(engine.events.publish in-process, no HTTP)")
    print(f"{label:10} ratio api/baseline {ratio:.2f} (target >= {TARGET_RATIO}), api/direct {dire / r['took']:.2f}")
    print(f"{label:10} replay of every batch: {r['added']} events added, {r['duplicates']:,} duplicates, "
          f"{r['replay_s']:.2f} s ({n / r['replay_s']:,.0f} messages/s)")
    print(f"{label:10} single /v1/track x{args.singles}: p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms")
    return ratio >= TARGET_RATIO and r["added"] == 0 and r["failed"] == 0


def main(argv: list[str]) -> int:
    from contextlib import contextmanager

    from temporalio.testing import WorkflowEnvironment

    from devstack.binaries import test_server

    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--pg", default=PG_URL, help=f"PostgreSQL URL (default {PG_URL}; 'none' to skip)")
    args = parser.parse_args(argv)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}")

    async def run() -> bool:
        ok = True
        async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server()) as env:
            with tempfile.TemporaryDirectory(prefix="nurture-bench-") as folder:

                @contextmanager
                def sqlite(name: str):
                    yield f"sqlite:///{Path(folder) / name}.db"

                ok &= await run_store("SQLite", sqlite, args, env.client)
            if args.pg != "none":
                ok &= await run_store("PostgreSQL", lambda _name: pg_schema(args.pg), args, env.client)
        return ok

    ok = asyncio.run(run())
    print(f"load average at end {os.getloadavg()[0]:.1f}; {'all targets met' if ok else 'a target was NOT met'}")
    return 0 if ok else 1
