"""Benchmark the Segment-compatible ingestion (tracking/segment_api.py), SQLite and PostgreSQL.

`python -m bench ingest [--messages 10000] [--users 1000] [--batch 100] [--singles 500] [--pg URL]`

For each store, in the same run, the first three taking turns (--rounds parts each, so the
machine's load weighs on each alike):
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


class Baseline:
    """The same events inserted straight into a store: create_contact on a user's first event,
    then record_event; no HTTP, no hooks."""

    def __init__(self, store: Any) -> None:
        self.store, self.ids = store, {}

    def run(self, msgs: list[dict[str, Any]]) -> float:
        start = time.perf_counter()
        for m in msgs:
            cid = self.ids.get(m["userId"])
            if cid is None:
                cid = self.ids[m["userId"]] = self.store.create_contact(external_id=m["userId"])
            self.store.record_event(cid, "feature.used", data=m["properties"], at=datetime.fromisoformat(m["timestamp"]))
        return time.perf_counter() - start


class Direct(Baseline):
    """The same events through engine.events.publish in-process: the event path, no HTTP, no idempotency."""

    async def publish(self, msgs: list[dict[str, Any]], client: Any) -> float:
        from engine.events import ensure_hooks, publish

        ensure_hooks()
        start = time.perf_counter()
        for m in msgs:
            cid = self.ids.get(m["userId"])
            if cid is None:
                cid = self.ids[m["userId"]] = await asyncio.to_thread(self.store.create_contact, external_id=m["userId"])
            await publish(client, self.store, cid, "feature.used", data=m["properties"],
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


def tracking_app(store: Any, client: Any) -> Any:
    from compiler.consent_model import load_consent_model
    from tracking.server import create_app
    from tracking.tokens import DEV_KEY, TokenSigner

    async def provider() -> Any:
        return client

    return create_app(store=store, signer=TokenSigner([DEV_KEY]), client_provider=provider, api_tokens=[],
                      twilio_auth_token="x", public_url="http://127.0.0.1", consent_model=load_consent_model(),
                      write_keys=[KEY], ingest_rate="1000000/second")


async def measure(urls: tuple[str, str, str], msgs: list[dict[str, Any]], args: argparse.Namespace,
                  client: Any) -> dict[str, Any]:
    """The three ways, interleaved round by round (the machine's load hits each alike), then the
    replay and the single calls."""
    from devstack.uvicorn_thread import UvicornThread
    from store import Store

    took = {"api": 0.0, "baseline": 0.0, "direct": 0.0}
    with Store.open(urls[0]) as store, Store.open(urls[1]) as base_store, Store.open(urls[2]) as direct_store:
        base, dire = Baseline(base_store), Direct(direct_store)
        with UvicornThread(tracking_app(store, client), name="bench-tracking") as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
                chunk = max(args.batch, -(-len(msgs) // args.rounds // args.batch) * args.batch)
                results: list[dict[str, Any]] = []
                for i in range(0, len(msgs), chunk):
                    part = msgs[i:i + chunk]
                    start = time.perf_counter()
                    results += await post_batches(http, part, args.batch)
                    took["api"] += time.perf_counter() - start
                    took["baseline"] += await asyncio.to_thread(base.run, part)
                    took["direct"] += await dire.publish(part, client)
                stored = event_count(store)
                start = time.perf_counter()
                replayed = await post_batches(http, msgs, args.batch)
                replay_s = time.perf_counter() - start
                added = event_count(store) - stored
                latencies = []
                for m in messages(args.singles, 50, f"single-{uuid.uuid4().hex[:6]}"):
                    start = time.perf_counter()
                    r = await http.post("/v1/track", headers=AUTH, json=m)
                    latencies.append((time.perf_counter() - start) * 1000)
                    r.raise_for_status()
    latencies.sort()
    return {**took, "failed": sum(r["status"] != 200 for r in results), "stored": stored, "replay_s": replay_s,
            "added": added, "duplicates": sum(bool(r.get("duplicate")) for r in replayed),
            "p50": statistics.median(latencies), "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


async def run_store(label: str, make_url: Callable[[str], Any], args: argparse.Namespace, client: Any) -> bool:
    msgs = messages(args.messages, args.users, uuid.uuid4().hex[:8])
    n = len(msgs)
    with make_url("api") as api_url, make_url("base") as base_url, make_url("direct") as direct_url:
        if None in (api_url, base_url, direct_url):
            return True
        r = await measure((api_url, base_url, direct_url), msgs, args, client)
    ratio = r["baseline"] / r["api"]
    print(f"{label:10} api /v1/batch  {n:,} messages in {r['api']:6.2f} s = {n / r['api']:7,.0f} events/s "
          f"({r['failed']} refused, {r['stored']:,} events stored)")
    print(f"{label:10} baseline       {n:,} events   in {r['baseline']:6.2f} s = {n / r['baseline']:7,.0f} events/s "
          f"(create_contact + record_event straight into the store)")
    print(f"{label:10} direct publish {n:,} events   in {r['direct']:6.2f} s = {n / r['direct']:7,.0f} events/s "
          f"(engine.events.publish in-process, no HTTP)")
    print(f"{label:10} ratio api/baseline {ratio:.2f} (target >= {TARGET_RATIO}), api/direct {r['direct'] / r['api']:.2f}")
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
    parser.add_argument("--rounds", type=int, default=10, help="the three ways take turns, a part each (default 10)")
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
