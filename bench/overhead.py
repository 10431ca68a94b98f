"""Overhead: Nurture's JourneyWorkflow vs hand-written Temporal workflows doing the same sends.

`python -m bench overhead [--n 500] [--rounds 1] [--wait 1] [--workers 1] [--pg URL]`

N contacts go through a reference journey (3 emails, 2 short waits, one branch) on the real
dev server (file database) with a file-backed store and a real SMTP sink, then the same N
through bench.baselines.HandWritten, HandWrittenRecorded (the same plus the outcome record reports
need, as a separate local activity) and Naive, all in this run with the same
activities and worker settings. Prints journeys/s, emails/s, history events per run and per
delivered email, and the ratio Nurture / hand-written (target >= 0.95; and fewer history
events per email than the naive baseline). `--rounds R` splits N into R rounds that each run
every variant, the order turning each round (so no variant always meets the cold or the loaded
machine first: compare variants run back to back). `--workers 2` runs worker processes instead
(`python worker.py`, the scale-out figure, with `--pg` for a PostgreSQL store).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from temporalio.worker import Worker

from activities.deps import Deps, SmtpConfig
from activities.registry import JourneyActivities
from bench.baselines import BaselineInput, HandWritten, HandWrittenRecorded, Naive
from bench.harness import (Rig, compile_text, cpu_seconds, delivery_problems, enrol_all, gather_limited, make_contacts,
                           sent_message_ids, wait_all)
from compiler.ir import Journey
from tracking.tokens import DEV_KEY, TokenSigner
from workflows.run_types import RunResult
from worker import create_worker, workflow_runner

REFERENCE = """journey: reference
title: Overhead reference
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - {id: first, type: send_email, template: first}
  - {id: pause-1, type: wait, duration: WAIT}
  - id: route
    type: branch
    cases:
      - {when: 'score >= 0', next: second}
    default: other
  - {id: second, type: send_email, template: second, next: pause-2}
  - {id: other, type: send_email, template: other, next: pause-2}
  - {id: pause-2, type: wait, duration: WAIT}
  - {id: third, type: send_email, template: third}
"""


@dataclass
class Figures:
    name: str
    runs: int
    seconds: float
    emails: int
    events_per_run: float
    server_cpu: float = 0.0  # CPU seconds of the dev server during the part
    own_cpu: float = 0.0  # CPU seconds of this process (worker, client, store, SMTP sink)

    @property
    def journeys_s(self) -> float:
        return self.runs / self.seconds

    @property
    def emails_s(self) -> float:
        return self.emails / self.seconds

    def line(self) -> str:
        per_email = self.events_per_run * self.runs / max(self.emails, 1)
        return (f"{self.name:<12} {self.runs} runs in {self.seconds:6.2f} s: {self.journeys_s:6.1f} journeys/s, "
                f"{self.emails_s:6.1f} emails/s, {self.events_per_run:5.1f} history events/run, "
                f"{per_email:4.1f} events/email, CPU ms/run: server {1000 * self.server_cpu / self.runs:4.0f}, "
                f"this process {1000 * self.own_cpu / self.runs:4.0f}")


async def events_per_run(rig: Rig, workflow_ids: list[str], sample: int = 20) -> float:
    counts = [len((await rig.client.get_workflow_handle(w).fetch_history()).events) for w in workflow_ids[:sample]]
    return sum(counts) / len(counts)


async def measure(rig: Rig, name: str, start: Any, ids: list[int], check_once: bool = False) -> Figures:
    before = len(rig.deliveries)
    cpu0 = (cpu_seconds(rig.server.process.pid), cpu_seconds(os.getpid()))
    t0 = time.perf_counter()
    workflow_ids = await start(ids)
    results = await wait_all(rig.client, workflow_ids, timeout=900, result_type=RunResult if check_once else Any)
    seconds = time.perf_counter() - t0
    if check_once:  # every run completed, every contact has each of its messages exactly once
        failed = [r for r in results if not isinstance(r, RunResult) or r.outcome != "completed"]
        expected = {f"{rig.store.get_contact(cid).email}": sent_message_ids(r)[0] for cid, r in zip(ids, results)
                    if isinstance(r, RunResult)}
        problems = delivery_problems(rig.deliveries[before:], expected)
        short = [a for a, m in expected.items() if len(m) != 3]
        print(f"{name}: {len(results) - len(failed)}/{len(ids)} runs completed, {len(short)} with other than 3 sends, "
              f"{len(problems)} contacts with missing/extra/repeated messages"
              + (f" e.g. {problems[:2]} {failed[:1]}" if problems or failed else ""), flush=True)
    server_cpu, own_cpu = cpu_seconds(rig.server.process.pid) - cpu0[0], cpu_seconds(os.getpid()) - cpu0[1]
    return Figures(name, len(ids), seconds, len(rig.deliveries) - before, await events_per_run(rig, workflow_ids),
                   server_cpu, own_cpu)


def baseline_starter(rig: Rig, journey: Journey, workflow: type, wait_s: float):
    templates = {name: dict(vars(tpl)) for name, tpl in journey.email_templates}

    async def start(ids: list[int]) -> list[str]:
        async def one(cid: int) -> str:
            inp = BaselineInput(journey.id, journey.version, cid, templates, wait_s)
            wid = f"bench/{workflow.__name__}/{cid}/{uuid.uuid4().hex[:6]}"
            await rig.client.start_workflow(workflow.run, inp, id=wid, task_queue=rig.task_queue)
            return wid

        return await gather_limited(ids, one, 32)

    return start


def deps_for(rig: Rig) -> Deps:
    return Deps(store=rig.store, signer=TokenSigner([DEV_KEY]), smtp=SmtpConfig(port=rig.sink.port),
                tracking_url="http://127.0.0.1:9")


async def run(n: int, wait_s: float, workers: int, pg: str | None, workdir: Path, rounds: int = 1) -> list[Figures]:
    async with Rig(workdir, db_url=pg) as rig:
        journey = compile_text(workdir / "journeys", "reference", REFERENCE.replace("WAIT", f"{int(wait_s)}s"),
                               ["first", "second", "other", "third"])
        deps = deps_for(rig)
        nurture = lambda ids: enrol_all(rig.client, rig.store, journey, ids, rig.task_queue)  # noqa: E731
        out = []
        if workers == 0:  # in-process: Nurture's worker and the baselines' share settings and activities
            baseline = Worker(rig.client, task_queue=rig.task_queue, workflows=[HandWritten, HandWrittenRecorded, Naive],
                              activities=JourneyActivities(deps).all(), workflow_runner=workflow_runner(),
                              max_concurrent_activities=100, max_cached_workflows=1000)
            async with create_worker(rig.client, deps, task_queue=rig.task_queue + "-n"), baseline:
                plan = [("nurture", nurture, rig.task_queue + "-n"),
                        ("hand-written", baseline_starter(rig, journey, HandWritten, wait_s), rig.task_queue),
                        ("hand+record", baseline_starter(rig, journey, HandWrittenRecorded, wait_s), rig.task_queue),
                        ("naive", baseline_starter(rig, journey, Naive, wait_s), rig.task_queue)]
                part = n // rounds
                for k in range(rounds):  # the order turns each round: no variant always goes first
                    for name, start, queue in plan[k % len(plan):] + plan[:k % len(plan)]:
                        ids = make_contacts(rig.store, part, f"{name[:2]}{k}x")
                        base_queue, rig.task_queue = rig.task_queue, queue
                        try:
                            out.append(await measure(rig, name, start, ids))
                        finally:
                            rig.task_queue = base_queue
                        print(f"  round {k + 1}: " + out[-1].line(), flush=True)
                out = [_total([f for f in out if f.name == name]) for name, _, _ in plan]
                for f in out:
                    print(f.line(), flush=True)
        else:  # worker processes (scale-out): Nurture only, 1 then `workers`
            for count in sorted({1, workers}):
                procs = [rig.start_worker() for _ in range(count)]
                ids = make_contacts(rig.store, n, f"w{count}x")
                out.append(await measure(rig, f"{count} worker(s)", nurture, ids, check_once=True))
                print(out[-1].line(), flush=True)
                for p in procs:
                    p.stop()
        return out


def _total(parts: list[Figures]) -> Figures:
    """One variant's rounds summed (history events per run: the mean of the rounds' samples)."""
    return Figures(parts[0].name, sum(p.runs for p in parts), sum(p.seconds for p in parts), sum(p.emails for p in parts),
                   sum(p.events_per_run for p in parts) / len(parts), sum(p.server_cpu for p in parts),
                   sum(p.own_cpu for p in parts))


@contextlib.contextmanager
def pg_or_none(url: str | None) -> Iterator[str | None]:
    """A throwaway schema on `url` (so repeated runs do not meet earlier contacts), or None."""
    if not url:
        yield None
        return
    from bench.import_contacts import pg_schema

    with pg_schema(url) as scoped:
        if scoped is None:
            raise SystemExit(f"PostgreSQL at {url} cannot be reached")
        yield scoped


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench overhead")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--wait", type=float, default=1.0, help="seconds of each of the two waits")
    ap.add_argument("--workers", type=int, default=0, help="0: in-process comparison; 2: scale-out with processes")
    ap.add_argument("--pg", help="a PostgreSQL URL for the store (scale-out)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="in-process comparison: split N into rounds, each running every variant, the order turning")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp, pg_or_none(args.pg) as pg:
        figures = asyncio.run(run(args.n, args.wait, args.workers, pg, Path(tmp), max(args.rounds, 1)))
    by = {f.name: f for f in figures}
    if "nurture" in by:
        nur, hand, naive = by["nurture"], by["hand-written"], by["naive"]
        ratio = nur.journeys_s / hand.journeys_s
        print(f"ratio Nurture / hand-written with the outcome record: {nur.journeys_s / by['hand+record'].journeys_s:.2f}")
        per = lambda f: f.events_per_run * f.runs / max(f.emails, 1)  # noqa: E731
        print(f"ratio Nurture / hand-written: {ratio:.2f} (target >= 0.95: {'met' if ratio >= 0.95 else 'MISSED'})")
        print(f"history events per email: Nurture {per(nur):.1f}, naive {per(naive):.1f} "
              f"({'fewer: met' if per(nur) < per(naive) else 'MISSED'})")
    elif len(figures) == 2:
        print(f"two workers / one: {figures[1].journeys_s / figures[0].journeys_s:.2f}")
    return 0
