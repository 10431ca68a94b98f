"""Benchmark `cli.py explain` for a busy contact: 20 finished runs (email, 2-day wait, branch on
the profile, email) on the time-skipping server with the real worker, SMTP sink and a SQLite
store, and 1,000 events (opens and clicks of its messages, page visits). Times the store's part
and the history reads side by side, against a baseline measured in the same run: the GDPR
export of the same contact (`store.export_contact`, which reads the same tables).

`python -m bench explain [--runs 20] [--events 1000] [--repeat 5]`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from dataclasses import replace


def _journey(index: int):  # type: ignore[no-untyped-def]
    from compiler import ir
    from tests.journey_builder import journey

    j = journey(
        ir.SendEmail(id="hello", template="hello", next="pause"),
        ir.Wait(id="pause", duration_s=2 * 86400, next="hot"),
        ir.Branch(id="hot", cases=(ir.Case(when="score >= 50", next="vip"),), default="later"),
        ir.SendEmail(id="later", template="later"),
        ir.SendEmail(id="vip", template="vip"),
        emails=["hello", "later", "vip"],
    )
    j = replace(j, id=f"bench-explain-{index:02d}")
    return replace(j, version=j.content_hash())


async def run(runs: int, events: int, repeat: int) -> dict[str, list[float]]:
    from engine.simulation import Simulation
    from explain.build import explain
    from explain.render import to_json

    rnd = random.Random(17)
    async with Simulation() as sim:
        cid = sim.create_contact({"email": "busy@example.com", "timezone": "Europe/Madrid", "score": 60,
                                  "consent": {"email": ["marketing"]}})
        for i in range(runs):
            await sim.run(_journey(i), cid)
        messages = [m.message_id for m in sim.store.messages_for(cid)]
        kinds = ("email.opened", "email.clicked", "page.visited")
        with sim.store.transaction():
            for _ in range(events):
                kind = rnd.choice(kinds)
                data = {"url": "https://example.com/pricing"} if kind == "page.visited" else (
                    {"link": 0, "url": "https://example.com/hello?utm=1"} if kind == "email.clicked" else {})
                sim.store.record_event(cid, kind, data=data,
                                       message_id=rnd.choice(messages) if kind != "page.visited" else None)
        figures: dict[str, list[float]] = {"baseline_export_s": [], "store_s": [], "temporal_s": [], "total_s": [], "render_s": [],
                                           "history_events": [], "timeline_items": []}
        for _ in range(repeat):
            began = time.perf_counter()
            sim.store.export_contact(cid)
            figures["baseline_export_s"].append(time.perf_counter() - began)
            began = time.perf_counter()
            ex = await explain(sim.store, sim.env.client, cid)
            rendered = time.perf_counter()
            to_json(ex)
            figures["render_s"].append(time.perf_counter() - rendered)
            figures["total_s"].append(time.perf_counter() - began)
            figures["store_s"].append(ex.timings["store_s"])
            figures["temporal_s"].append(ex.timings["temporal_s"])
            figures["history_events"].append(ex.timings["history_events"])
            figures["timeline_items"].append(float(len(ex.items)))
        assert len(ex.runs) == runs and all(r.status == "finished" for r in ex.runs), ex.notes
        return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench explain")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.runs, args.events, args.repeat))
    med = {k: statistics.median(v) for k, v in figures.items()}
    print(f"contact with {args.runs} runs and {args.events:,} events; median of {args.repeat}")
    print(f"  explain total        {med['total_s']:6.3f} s  ({int(med['timeline_items'])} timeline items, JSON rendered)")
    print(f"    store queries      {med['store_s']:6.3f} s")
    print(f"    history reads      {med['temporal_s']:6.3f} s  ({int(med['history_events'])} history events, "
          f"{args.runs} chains)")
    print(f"    JSON rendering     {med['render_s']:6.3f} s")
    print(f"  baseline: export     {med['baseline_export_s']:6.3f} s  (store.export_contact, same tables)")
    print(f"  worst total          {max(figures['total_s']):6.3f} s  ({'under' if max(figures['total_s']) < 1 else 'OVER'} 1 s)")
    return 0
