"""Latency: a click on a tracked link in a real email until the journey's next activity starts.

`python -m bench latency [--n 200]`

On the real dev server (file database), SMTP sink, file-backed store and a worker process
(`python worker.py`), N runs of a journey `first` (email) -> `wait_for email.clicked of first`
(timeout 1 day) -> `second` (email) send their first email and park. The tracking server
(tracking.server.create_app, uvicorn on 127.0.0.1, its own Temporal client as in production)
then gets, one contact at a time, an HTTP GET of the `/c/{token}` link taken from that
contact's email in the sink (the click publishes `email.clicked` through engine.events, which
signals the run). Per click:

- click -> signal: the run's WorkflowExecutionSignaled event time;
- click -> next activity start: the ActivityTaskStarted event of `second`'s send (server time);
- click -> the second email in the sink (upper bound: includes rendering and SMTP).

Clicks are made 2.5 s or more after the send (the tracking server treats faster clicks as
bots, which do not move journeys) and one at a time, each after the previous one's second
email arrived (latency, not throughput). Baseline in the same run: a bare workflow waiting on
`workflow.wait_condition` for a signal, then an activity (a bare worker in this process):
signal sent -> ActivityTaskStarted. Prints p50/p90/p99/max; targets p50 < 100 ms, p99 < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.harness import Rig, compile_text, enrol_all, gather_limited, make_contacts
from devstack.ports import free_port
from devstack.uvicorn_thread import UvicornThread
from tracking.server import LazyClient, create_app
from tracking.tokens import signer_from_env

JOURNEY = """journey: bench-latency
title: Click latency
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - {id: first, type: send_email, template: first}
  - id: clicked
    type: wait_for
    events: [{event: email.clicked, of: first}]
    timeout: 1d
    on_timeout: end
    next: second
  - {id: second, type: send_email, template: second}
"""

CLICK = re.compile(r"http://127\.0\.0\.1:\d+/c/[A-Za-z0-9._~-]+")


@activity.defn(name="bench_bare_step")
async def bare_step(n: int) -> int:
    return n + 1


@workflow.defn(name="BenchBareWait")
class BareWait:
    def __init__(self) -> None:
        self.got = False

    @workflow.signal(name="go")
    def go(self) -> None:
        self.got = True

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.got)
        return await workflow.execute_activity(bare_step, 1, start_to_close_timeout=timedelta(seconds=30))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))]


def summary(name: str, ms: list[float]) -> str:
    return (f"{name:<34} n={len(ms):3d}  p50 {pct(ms, 50):7.1f} ms  p90 {pct(ms, 90):7.1f} ms  "
            f"p99 {pct(ms, 99):7.1f} ms  max {max(ms):7.1f} ms  mean {statistics.fmean(ms):7.1f} ms")


async def event_times(client: Client, workflow_id: str, after: float) -> tuple[float | None, float | None]:
    """(time of the first signal, time of the first activity start after it), epoch seconds."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    signalled = started = None
    for e in history.events:
        t = e.event_time.ToNanoseconds() / 1e9
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED and signalled is None and t >= after - 0.5:
            signalled = t
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and signalled is not None and started is None:
            started = t
    return signalled, started


async def baseline(client: Client, n: int) -> list[float]:
    queue = f"bare-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[BareWait], activities=[bare_step],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        ids = [f"bench/bare/{queue}/{i}" for i in range(n)]
        await gather_limited(ids, lambda w: client.start_workflow(BareWait.run, id=w, task_queue=queue), 20)
        await asyncio.sleep(1.0)  # every run parked on its condition
        out = []
        for wid in ids:
            handle = client.get_workflow_handle(wid)
            t0 = time.time()
            await handle.signal("go")
            await handle.result()
            _, started = await event_times(client, wid, t0)
            out.append((started - t0) * 1000)
        return out


async def run(n: int, workdir: Path) -> dict[str, list[float]]:
    tracking_port = free_port()
    async with Rig(workdir) as rig:
        journey = compile_text(workdir / "journeys", "bench-latency", JOURNEY, ["first", "second"])
        rig.start_worker(NURTURE_TRACKING_URL=f"http://127.0.0.1:{tracking_port}")
        app = create_app(store=rig.store, signer=signer_from_env(warn=False),
                         client_provider=LazyClient(lambda: Client.connect(rig.server.address)),
                         api_tokens=[], twilio_auth_token="bench", public_url=f"http://127.0.0.1:{tracking_port}",
                         task_queue=rig.task_queue)
        with UvicornThread(app, port=tracking_port, name="tracking"):
            warm = make_contacts(rig.store, 1, "lat-warm")
            ids = make_contacts(rig.store, n, "lat")
            workflow_ids = await enrol_all(rig.client, rig.store, journey, warm + ids, rig.task_queue)
            workflow_ids = workflow_ids[1:]
            await rig.sink.wait_for_async(n + 1, timeout=300)
            links = {}
            for d in rig.deliveries:
                body = d.message.get_body(("plain",)).get_content()
                links[d.rcpt_tos[0].lower()] = CLICK.findall(body)[0]
            print(f"{n} runs parked after their first email; clicking", flush=True)
            await asyncio.sleep(2.5)  # clicks sooner than 2 s after the send count as bots
            clicks: list[tuple[str, float, float]] = []  # workflow id, click sent, second email arrived
            async with httpx.AsyncClient() as http:
                # warm-up, not counted: the server's first event connects its Temporal client
                before = len(rig.sink.deliveries)
                assert (await http.get(links["lat-warm0@example.com"])).status_code == 302
                await rig.sink.wait_for_async(before + 1, timeout=30)
                for i, (cid, wid) in enumerate(zip(ids, workflow_ids)):
                    link = links[f"lat{i}@example.com"]
                    before = len(rig.sink.deliveries)
                    t0 = time.time()
                    resp = await http.get(link, follow_redirects=False)
                    assert resp.status_code == 302, (resp.status_code, resp.text[:200])
                    await rig.sink.wait_for_async(before + 1, timeout=30)
                    clicks.append((wid, t0, time.time()))
            out: dict[str, list[float]] = {"signal": [], "activity": [], "email": []}
            for wid, t0, arrived in clicks:
                signalled, started = await event_times(rig.client, wid, t0)
                out["signal"].append((signalled - t0) * 1000)
                out["activity"].append((started - t0) * 1000)
                out["email"].append((arrived - t0) * 1000)
            out["baseline"] = await baseline(rig.client, n)
            return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench latency")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        f = asyncio.run(run(args.n, Path(tmp)))
    print(f"load average at start {load:.1f}, at end {os.getloadavg()[0]:.1f}")
    print(summary("click -> run signalled", f["signal"]))
    print(summary("click -> next activity started", f["activity"]))
    print(summary("click -> next email in the sink", f["email"]))
    print(summary("baseline: signal -> activity started", f["baseline"]))
    p50, p99 = pct(f["activity"], 50), pct(f["activity"], 99)
    print(f"click -> next activity: p50 {p50:.1f} ms (target < 100: {'met' if p50 < 100 else 'MISSED'}), "
          f"p99 {p99:.1f} ms (target < 1000: {'met' if p99 < 1000 else 'MISSED'}); "
          f"p50 vs bare Temporal baseline: {p50 / pct(f['baseline'], 50):.1f}x")
    return 0
