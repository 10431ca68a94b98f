"""Bulk enrolment into a deployed journey (`cli.py enroll`): contacts from ids, a CSV
file or a segment, started concurrently through engine.enrol (re-entry rules, draining)."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from compiler.ir import Journey
from deploy.load import DeployError
from workflows.run_types import TASK_QUEUE

CSV_COLUMNS = ("contact_id", "external_id", "email")


@dataclass
class EnrolSummary:
    started: int = 0
    already_running: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # reason -> count
    unknown: list[str] = field(default_factory=list)  # the CSV values / ids not found

    def lines(self) -> list[str]:
        out = [f"started: {self.started}", f"already running: {self.already_running}"]
        out += [f"refused ({reason}): {n}" for reason, n in sorted(self.refused.items())]
        if self.unknown:
            shown = ", ".join(self.unknown[:10]) + (" ..." if len(self.unknown) > 10 else "")
            out.append(f"unknown contacts: {len(self.unknown)} ({shown})")
        return out


def active_journey(store: Any, journey_id: str) -> Journey:
    state = store.get_journey_state(journey_id)
    ir = store.get_journey_version(journey_id, state.active_version) if state and state.active_version else None
    if ir is None:
        raise DeployError(f"journey {journey_id!r} is not deployed; run `python cli.py apply` first")
    return Journey.from_dict(ir)


def _known(store: Any, contact_id: int) -> bool:
    contact = store.get_contact(contact_id)
    return contact is not None and contact.erased_at is None


def resolve_ids(store: Any, ids: list[int]) -> tuple[list[int], list[str]]:
    known = [i for i in ids if _known(store, i)]
    return known, [str(i) for i in ids if i not in known]


def read_csv(store: Any, path: str | Path) -> tuple[list[int], list[str]]:
    """Contact ids from a CSV with a `contact_id`, `external_id` or `email` column."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            header = [h.strip() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DeployError(f"{path}: cannot read the CSV: {exc}") from None
    column = next((c for c in CSV_COLUMNS if c in header), None)
    if column is None:
        raise DeployError(f"{path}: needs a column named one of {', '.join(CSV_COLUMNS)} (found: {', '.join(header) or 'none'})")
    ids: list[int] = []
    unknown: list[str] = []
    for row in rows:
        value = (row.get(column) or "").strip()
        cid = _lookup(store, column, value)
        (ids.append(cid) if cid is not None else unknown.append(value or "(blank)"))
    return list(dict.fromkeys(ids)), unknown


def _lookup(store: Any, column: str, value: str) -> int | None:
    if not value:
        return None
    if column == "contact_id":
        return int(value) if value.isdigit() and _known(store, int(value)) else None
    found = store.find_contact(**{column: value})
    return found.id if found is not None else None


async def enrol_many(
    client: Any,
    store: Any,
    journey: Journey,
    contact_ids: list[int],
    *,
    concurrency: int = 20,
    task_queue: str = TASK_QUEUE,
    on_done: Callable[[], None] | None = None,
) -> EnrolSummary:
    from engine.enrol import enrol

    summary = EnrolSummary()
    gate = asyncio.Semaphore(concurrency)

    async def one(contact_id: int) -> None:
        async with gate:
            result = await enrol(client, store, journey, contact_id, task_queue=task_queue, search_attributes=True)
        if result.status == "started":
            summary.started += 1
        elif result.status == "already_running":
            summary.already_running += 1
        else:
            summary.refused[result.reason or result.status] += 1
        if on_done:
            on_done()

    await asyncio.gather(*(one(cid) for cid in contact_ids))
    return summary
