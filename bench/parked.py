"""Parked runs: worker memory and server load with N runs waiting in `wait_for`.

`python -m bench parked [--n 10000] [--concurrency 50]`

On the real dev server (file database) with a worker process (`python worker.py`, the
default `max_cached_workflows=1000`), runs of a journey whose first step is
`wait_for email.clicked` (timeout 30 days) are started (raw `start_workflow`, as
bench.enroll's baseline: how they are started does not matter here) up to N/4, N/2, 3N/4
and N. At each mark, once the worker is idle again (every run parked), it samples for 5 s:
worker RSS, dev server RSS and both processes' CPU use. Baseline in the same run: the same
worker with no runs, before the first start. RSS should be flat in N beyond the cache
(1,000 runs), and an idle server should spend next to no CPU on parked runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.enroll import make_contacts_fast, start_raw
from bench.harness import Rig, compile_text, cpu_seconds, rss_kb
from workflows.run_types import workflow_id_for

JOURNEY = """journey: bench-parked
title: Parked in wait_for
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - id: parked
    type: wait_for
    events: [{event: email.clicked}]
    timeout: 30d
    on_timeout: end
    next: hello
  - {id: hello, type: send_email, template: hello}
"""


async def until_idle(pid: int, quiet_s: float = 2.0, limit_s: float = 600.0) -> float:
    """Wait until process `pid` has used < 2% of a core for `quiet_s` seconds; the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        c0 = cpu_seconds(pid)
        await asyncio.sleep(quiet_s)
        if cpu_seconds(pid) - c0 < 0.02 * quiet_s:
            return time.monotonic() - t0
    raise TimeoutError(f"process {pid} still busy after {limit_s} s")


async def sample(rig: Rig, worker_pid: int, seconds: float = 5.0) -> dict[str, float]:
    server_pid = rig.server.process.pid
    c_server, c_worker = cpu_seconds(server_pid), cpu_seconds(worker_pid)
    await asyncio.sleep(seconds)
    return {"worker_rss_mb": rss_kb(worker_pid) / 1024, "server_rss_mb": rss_kb(server_pid) / 1024,
            "worker_cpu_pct": 100 * (cpu_seconds(worker_pid) - c_worker) / seconds,
            "server_cpu_pct": 100 * (cpu_seconds(server_pid) - c_server) / seconds,
            "server_db_mb": sum(p.stat().st_size for p in rig.workdir.glob("temporal.db*")) / 2**20}


def line(label: str, s: dict[str, float]) -> str:
    return (f"{label:<22} worker RSS {s['worker_rss_mb']:6.1f} MB, CPU {s['worker_cpu_pct']:4.1f}% | dev server RSS "
            f"{s['server_rss_mb']:6.1f} MB, CPU {s['server_cpu_pct']:4.1f}%, database {s['server_db_mb']:6.1f} MB"
            f"   [load {os.getloadavg()[0]:.1f}]")


async def run(n: int, concurrency: int, workdir: Path) -> list[tuple[int, dict[str, float]]]:
    async with Rig(workdir) as rig:
        journey = compile_text(workdir / "journeys", "bench-parked", JOURNEY, ["hello"])
        worker = rig.start_worker()
        pid = worker.process.pid
        await until_idle(pid)
        out = [(0, await sample(rig, pid))]
        print(line("no runs (baseline)", out[-1][1]), flush=True)
        started = 0
        for mark in (n // 4, n // 2, 3 * n // 4, n):
            ids = make_contacts_fast(rig.store, mark - started, f"p{mark}x")  # setup, one transaction
            t0 = time.perf_counter()
            c_server, c_worker = cpu_seconds(rig.server.process.pid), cpu_seconds(pid)
            await start_raw(rig.client, journey, ids, rig.task_queue, concurrency)
            secs = time.perf_counter() - t0
            idle = await until_idle(pid)
            last = await rig.client.get_workflow_handle(workflow_id_for(journey.id, ids[-1])).describe()
            if last.status is None or last.status.name != "RUNNING":
                history = await rig.client.get_workflow_handle(last.id).fetch_history()
                raise AssertionError(f"{last.id} is {last.status}: {history.events[-1]}")
            print(f"  started {len(ids)} runs in {secs:.1f} s ({len(ids) / secs:.0f}/s; worker idle {idle:.0f} s later; "
                  f"CPU meanwhile: server {cpu_seconds(rig.server.process.pid) - c_server:.1f} s, "
                  f"worker {cpu_seconds(pid) - c_worker:.1f} s)", flush=True)
            started = mark
            out.append((mark, await sample(rig, pid)))
            print(line(f"{mark} runs parked", out[-1][1]), flush=True)
        return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench parked")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        rows = asyncio.run(run(args.n, args.concurrency, Path(tmp)))
    base = rows[0][1]["worker_rss_mb"]
    quarter = rows[1][1]["worker_rss_mb"]
    full = rows[-1][1]["worker_rss_mb"]
    print(f"worker RSS: {base:.1f} MB with no runs, {quarter:.1f} MB at N/4 = {rows[1][0]}, {full:.1f} MB at N = {rows[-1][0]}"
          f" (+{full - base:.1f} MB over the baseline; N/4 -> N: {full - quarter:+.1f} MB, "
          f"{'flat' if full - quarter < 0.1 * quarter else 'GROWING'})")
    return 0
