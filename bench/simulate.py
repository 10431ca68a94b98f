"""Simulate: a 90-day journey run end to end on the time-skipping server (target < 1 s).

`python -m bench simulate [--runs 5]` times `Simulation.run` of a generated 90-day journey
(4 emails 30 days apart, each with a 3-day wait_for click) and of the example journeys
re-engagement and trial-to-paid (with a click), after the
simulation environment is up (its start-up, paid once per `cli.py simulate`, printed apart),
and as a baseline the test server skipping 90 days with nothing to run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.harness import compile_text
from compiler.compile import compile_file
from engine.simulation import SimEvent, Simulation

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0
CASES = [("ninety-days", ()), ("re-engagement", ()), ("trial-to-paid", ("email.clicked@welcome+1h",))]


def ninety_days(folder: Path):
    """m1 .. m4, 30 days apart (each after a 3-day wait_for a click that never comes)."""
    steps = []
    for i in range(1, 5):
        steps.append(f"  - {{id: m{i}, type: send_email, template: m{i}}}")
        if i < 4:
            steps.append(f"  - id: w{i}\n    type: wait_for\n    events:\n      - {{event: email.clicked, of: m{i}, next: p{i}}}\n"
                         f"    timeout: 3d\n    on_timeout: p{i}")
            steps.append(f"  - {{id: p{i}, type: wait, duration: 27d}}")
    text = ("journey: ninety-days\ntitle: Ninety days\nentry: {manual: true}\npolicy:\n  consent: {email: marketing}\n"
            "steps:\n" + "\n".join(steps) + "\n")
    return compile_text(folder, "ninety-days", text, [f"m{i}" for i in range(1, 5)])


async def run(runs: int) -> None:
    t0 = time.perf_counter()
    async with Simulation() as sim:
        tmp = tempfile.mkdtemp(prefix="nurture-bench-sim-")
        print(f"environment start-up: {time.perf_counter() - t0:.2f} s")
        t = time.perf_counter()
        await sim.env.sleep(timedelta(days=90))
        print(f"baseline: the test server skipping 90 days: {time.perf_counter() - t:.3f} s")
        for name, events in CASES:
            journey = (ninety_days(Path(tmp)) if name == "ninety-days"
                       else compile_file(ROOT / "journeys" / f"{name}.yaml").journey)
            assert journey is not None
            times, span = [], 0.0
            for i in range(runs):
                contact = {"email": f"sim{i}@example.com", "first_name": "Sim", "stage": "mql", "score": 60,
                           "consent": {"email": ["marketing"], "sms": ["marketing"]}}
                t = time.perf_counter()
                out = await sim.run(journey, contact, [SimEvent.parse(e) for e in events])
                times.append(time.perf_counter() - t)
                span = max(e.at_s for e in out.timeline) / 86400
            med = statistics.median(times)
            print(f"{name}: {span:.0f} simulated days, median {med:.3f} s, max {max(times):.3f} s over {runs} runs "
                  f"(target < {TARGET_S} s: {'met' if med < TARGET_S else 'MISSED'})")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench simulate")
    ap.add_argument("--runs", type=int, default=5)
    asyncio.run(run(ap.parse_args(argv).runs))
    return 0
