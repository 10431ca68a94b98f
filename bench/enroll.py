"""Enrol: contacts enrolled from a CSV through `cli.py enroll --csv`'s code path vs raw
`client.start_workflow` calls of the same workflow, in the same run.

`python -m bench enroll [--n 10000] [--concurrency 20]`

On the real dev server (file database) with a file-backed store and a worker process: the
journey parks every run in a 30-day `wait` (its first step), so the runs cost the worker one
workflow task each and nothing after. Two variants, each N starts, in `--rounds` rounds (default
4) of N/rounds starts each, raw then CSV, CSV then raw, ... (so the server's growing database
and the machine's changing load weigh on both alike; each round's ratio compares parts run
back to back):

- CSV: deploy.enrolment.read_csv (an `email` column, looked up in batches),
  active_journey, enrol_many(concurrency=C, search_attributes=True): what `cli.py enroll`
  does after connecting (draining check, re-entry rule, start, the enrolment row);
- raw: `client.start_workflow(JourneyWorkflow, RunInput, ...)` with the same id scheme,
  search attributes and concurrency C, and nothing else.

Prints starts/s for each, the ratio CSV / raw over the run and per round (target >= 0.9 on the
median round).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from bench.harness import Rig, compile_text, cpu_seconds, gather_limited
from deploy.enrolment import active_journey, enrol_many, read_csv
from engine.enrol import CONTACT_KEY, JOURNEY_KEY, VERSION_KEY
from workflows.run_types import WORKFLOW_NAME, RunInput, workflow_id_for

PARKED = """journey: bench-enrol
title: Enrol benchmark (parks for 30 days)
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - {id: park, type: wait, duration: 30d}
  - {id: hello, type: send_email, template: hello}
"""


def make_contacts_fast(store, n: int, prefix: str) -> list[int]:
    """`n` consenting contacts, in one transaction (setup, not measured)."""
    ids = []
    with store.transaction():
        for i in range(n):
            cid = store.create_contact(email=f"{prefix}{i}@example.com", first_name="Xenobia", last_name=f"Q{prefix}{i}")
            store.record_consent(cid, "email", "marketing", "granted", source="bench")
            ids.append(cid)
    return ids


def write_csv(path: Path, store, ids: list[int]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["email", "first_name"])
        for cid in ids:
            w.writerow([store.get_contact(cid).email, "Xenobia"])


async def csv_phase(rig: Rig, path: Path, concurrency: int) -> tuple[float, float, int]:
    """(seconds in all, seconds of which reading the CSV, runs started): the CLI's path."""
    t0 = time.perf_counter()
    journey = active_journey(rig.store, "bench-enrol")
    ids, unknown = read_csv(rig.store, path)
    t_read = time.perf_counter() - t0
    summary = await enrol_many(rig.client, rig.store, journey, ids, concurrency=concurrency,
                               task_queue=rig.task_queue)
    assert not unknown and summary.started == len(ids), summary.lines()
    return time.perf_counter() - t0, t_read, summary.started


async def start_raw(client, journey, ids: list[int], task_queue: str, concurrency: int) -> None:
    """`client.start_workflow` of JourneyWorkflow for each contact, `concurrency` at a time, and
    nothing else (no store reads or writes): the raw baseline, also used by bench.parked."""
    ir = journey.to_dict()

    async def one(cid: int) -> None:
        attrs = TypedSearchAttributes([SearchAttributePair(JOURNEY_KEY, journey.id),
                                       SearchAttributePair(VERSION_KEY, journey.version),
                                       SearchAttributePair(CONTACT_KEY, str(cid))])
        await client.start_workflow(
            WORKFLOW_NAME, RunInput(journey=ir, contact_id=cid, search_attributes=True),
            id=workflow_id_for(journey.id, cid), task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, search_attributes=attrs)

    await gather_limited(ids, one, concurrency)


async def raw_phase(rig: Rig, journey, ids: list[int], concurrency: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    await start_raw(rig.client, journey, ids, rig.task_queue, concurrency)
    return time.perf_counter() - t0, len(ids)


async def run(n: int, concurrency: int, rounds: int, workdir: Path) -> dict[str, float]:
    async with Rig(workdir) as rig:
        journey = compile_text(workdir / "journeys", "bench-enrol", PARKED, ["hello"])
        rig.store.save_journey_version(journey.id, journey.version, journey.to_dict())
        rig.store.set_journey_state(journey.id, active_version=journey.version, state="active")
        worker = rig.start_worker()
        part = n // rounds
        t0 = time.perf_counter()
        raw_ids = make_contacts_fast(rig.store, part * rounds, "raw")
        csv_ids = make_contacts_fast(rig.store, part * rounds, "csv")
        files = []
        for k in range(rounds):
            files.append(workdir / f"contacts-{k}.csv")
            write_csv(files[-1], rig.store, csv_ids[k * part:(k + 1) * part])
        print(f"setup: {2 * part * rounds} contacts and {rounds} CSV files of {part} rows in {time.perf_counter() - t0:.1f} s",
              flush=True)
        totals = {"raw": 0.0, "csv": 0.0, "csv_read": 0.0}
        counts = {"raw": 0, "csv": 0}
        round_ratios = []
        server_pid = rig.server.process.pid
        cpu0 = {"server": cpu_seconds(server_pid), "worker": cpu_seconds(worker.process.pid),
                "bench": cpu_seconds(os.getpid())}
        for k in range(rounds):  # raw then CSV, CSV then raw, ...: adjacent parts see about the same load
            rate = {}
            for name in (("raw", "csv") if k % 2 == 0 else ("csv", "raw")):
                if name == "raw":
                    secs, started = await raw_phase(rig, journey, raw_ids[k * part:(k + 1) * part], concurrency)
                    read = 0.0
                else:
                    secs, read, started = await csv_phase(rig, files[k], concurrency)
                    totals["csv_read"] += read
                totals[name] += secs
                counts[name] += started
                rate[name] = started / secs
                print(f"  round {k + 1} {name:<4}: {started} starts in {secs:6.2f} s = {rate[name]:6.1f} starts/s"
                      + (f" (reading the CSV: {read:.2f} s)" if name == "csv" else "")
                      + f"   [load {os.getloadavg()[0]:.1f}]", flush=True)
            round_ratios.append(rate["csv"] / rate["raw"])
        cpu = {"server": cpu_seconds(server_pid) - cpu0["server"], "worker": cpu_seconds(worker.process.pid) - cpu0["worker"],
               "bench": cpu_seconds(os.getpid()) - cpu0["bench"]}
        wall = totals["raw"] + totals["csv"]
        print(f"CPU during the {2 * rounds} parts ({wall:.1f} s): dev server {cpu['server']:.1f} s, worker {cpu['worker']:.1f} s, "
              f"this process (client + store) {cpu['bench']:.1f} s", flush=True)
        # the runs are parked, not failed: the last few started must be waiting on their timer
        sample = [workflow_id_for(journey.id, cid) for cid in (raw_ids[-3:] + csv_ids[-3:])]
        await asyncio.sleep(2)
        for wid in sample:
            desc = await rig.client.get_workflow_handle(wid).describe()
            assert desc.status is not None and desc.status.name == "RUNNING", (wid, desc.status)
        return {"raw_s": totals["raw"], "csv_s": totals["csv"], "csv_read_s": totals["csv_read"],
                "raw_n": counts["raw"], "csv_n": counts["csv"], "round_ratios": round_ratios}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench enroll")
    ap.add_argument("--n", type=int, default=10_000, help="starts per variant")
    ap.add_argument("--concurrency", type=int, default=20, help="starts in flight (cli.py enroll's default: 20)")
    ap.add_argument("--rounds", type=int, default=4, help="rounds of one raw and one CSV part of N/rounds each")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        f = asyncio.run(run(args.n, args.concurrency, args.rounds, Path(tmp)))
    raw, csv_ = f["raw_n"] / f["raw_s"], f["csv_n"] / f["csv_s"]
    ratio = csv_ / raw
    print(f"raw start_workflow: {f['raw_n']} starts in {f['raw_s']:.2f} s = {raw:.1f} starts/s")
    print(f"CSV (cli.py enroll): {f['csv_n']} starts in {f['csv_s']:.2f} s = {csv_:.1f} starts/s "
          f"(of which reading the CSV {f['csv_read_s']:.2f} s)")
    median = statistics.median(f["round_ratios"])
    print(f"ratio CSV / raw: {ratio:.2f} over the whole run; per round {', '.join(f'{r:.2f}' for r in f['round_ratios'])}, "
          f"median {median:.2f} (target >= 0.9: {'met' if median >= 0.9 else 'MISSED'})")
    return 0
