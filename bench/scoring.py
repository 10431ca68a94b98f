"""Benchmark the scoring and stage hooks: events/s through record_event + hooks (what
engine.events.publish does before signalling) vs plain record_event, in the same run.

`python -m bench scoring [--events N] [--contacts N] [--pg]` uses the shipped
journeys/scoring.yaml and stages.yaml on a fresh SQLite file (or PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from bench.import_contacts import PG_URL, pg_schema

ROOT = Path(__file__).resolve().parent.parent
EVENTS = [("email.opened", {}), ("email.clicked", {}), ("page.visited", {"url": "https://example.com/pricing"}),
          ("page.visited", {"url": "https://example.com/blog"}), ("webinar.attended", {}), ("email.sent", {})]


def main(argv: list[str]) -> int:
    from marketing.hooks import load_models
    from marketing.scoring import scoring_hook
    from marketing.stages import stages_hook
    from store import Store

    parser = argparse.ArgumentParser(prog="python -m bench scoring")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="a throwaway schema on PostgreSQL at 127.0.0.1 instead of SQLite")
    args = parser.parse_args(argv)
    scoring, stages = load_models(ROOT / "journeys")
    assert scoring is not None and stages is not None
    hooks = [scoring_hook(scoring), stages_hook(stages)]
    rnd = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as folder, pg_schema(PG_URL) if args.pg else nullcontext() as pg:
        if args.pg and pg is None:
            return 1
        with Store.open(pg or f"sqlite:///{Path(folder) / 'bench.db'}") as store:
            ids = [store.create_contact(email=f"b{i}-{rnd.random()}@example.com", stage="subscriber") for i in range(args.contacts)]
            stream = [(rnd.choice(ids), *rnd.choice(EVENTS)) for _ in range(args.events)]
            start = time.perf_counter()
            for cid, kind, data in stream:
                store.record_event(cid, kind, data=data)
            base = time.perf_counter() - start
            start = time.perf_counter()
            for cid, kind, data in stream:
                store.record_event(cid, kind, data=data)
                for hook in hooks:
                    hook(store, cid, kind, data)
            took = time.perf_counter() - start
    n = args.events
    print(f"record_event only:        {n:,} events in {base:6.2f} s = {n / base:8,.0f} events/s")
    print(f"record_event + hooks:     {n:,} events in {took:6.2f} s = {n / took:8,.0f} events/s ({took / base:.1f}x the baseline)")
    return 0
