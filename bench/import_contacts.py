"""Benchmark `contacts import` on 100k rows (target: well under a minute), SQLite and PostgreSQL.

`python -m bench import_contacts [--rows N] [--pg URL]` writes a CSV with ~5% bad rows and ~5%
duplicates, imports it into a fresh SQLite file and a fresh PostgreSQL schema, and in the same
run times a baseline: a plain executemany INSERT of the same number of contacts (no parsing,
checks, merging, tags or consent). Prints rows/s for each and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TARGET_S = 60.0
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "email", "phone", "first_name", "last_name", "company", "tags"])
        for i in range(rows):
            n = rnd.randrange(i) if i and rnd.random() < 0.05 else i  # ~5% repeat an earlier person
            email, phone = f"user{n}@example.com", f"6{n:08d}"
            if rnd.random() < 0.05:  # ~5% bad
                email, phone = (f"user{n}-at-example.com", phone) if rnd.random() < 0.5 else (email, "12")
            w.writerow([f"X{n}", email, phone, f"First{n}", f"Last{n}", f"Company {n % 997}", "lead;newsletter"])


@contextmanager
def pg_schema(url: str) -> Iterator[str | None]:
    """A throwaway schema on `url` (None if the server cannot be reached)."""
    admin = create_engine(url, connect_args={"connect_timeout": 3})
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report and skip
        print(f"PostgreSQL skipped: {exc.__class__.__name__}: {exc}")
        admin.dispose()
        yield None
        return
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def run_import(url: str, csv_path: Path) -> tuple[float, str]:
    from marketing.contact_import import ImportOptions, import_csv
    from store import Store

    with Store.open(url) as store:
        start = time.perf_counter()
        summary = import_csv(store, csv_path, ImportOptions(source="bench", consents=[("email", "marketing")], default_region="ES"))
        return time.perf_counter() - start, summary.line()


def run_baseline(url: str, rows: int) -> float:
    """executemany of `rows` plain contacts into the same schema (in one transaction)."""
    from store import Store, schema

    with Store.open(url) as store:
        now = datetime.now(timezone.utc)
        data = [{"external_id": f"X{i}", "email": f"user{i}@example.com", "phone": f"+346{i:08d}", "first_name": f"First{i}",
                 "last_name": f"Last{i}", "attributes": {"company": f"Company {i % 997}"}, "created_at": now, "updated_at": now}
                for i in range(rows)]
        start = time.perf_counter()
        with store._write() as conn:  # noqa: SLF001 - the baseline is the store's own engine
            conn.execute(schema.contacts.insert(), data)
        return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench import_contacts")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=PG_URL, help=f"PostgreSQL URL (default {PG_URL})")
    args = parser.parse_args(argv)
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as folder:
        csv_path = Path(folder) / "contacts.csv"
        generate(csv_path, args.rows)
        targets = [("SQLite", lambda name: f"sqlite:///{Path(folder) / name}.db")]
        for label, make in targets + [("PostgreSQL", None)]:
            if make is None:
                with pg_schema(args.pg) as url_a, pg_schema(args.pg) as url_b:
                    if url_a is None or url_b is None:
                        continue
                    took, line = run_import(url_a, csv_path)
                    base = run_baseline(url_b, args.rows)
            else:
                took, line = run_import(make("import"), csv_path)
                base = run_baseline(make("baseline"), args.rows)
            worst = max(worst, took)
            print(f"{label:10} import   {args.rows:,} rows in {took:6.2f} s = {args.rows / took:9,.0f} rows/s   ({line})")
            print(f"{label:10} baseline {args.rows:,} rows in {base:6.2f} s = {args.rows / base:9,.0f} rows/s   "
                  f"(plain executemany INSERT); import takes {took / base:.1f}x the baseline")
    print(f"target: {args.rows:,} rows under {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'NOT met'} (slowest {worst:.1f} s)")
    return 0 if worst < TARGET_S else 1
