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
from store.base import BATCH
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


def resolve_ids(store: Any, ids: list[int]) -> tuple[list[int], list[str]]:
    """The ids of live contacts (in order) and, as text, the others."""
    live = store.live_contact_ids(ids)
    return [i for i in ids if i in live], [str(i) for i in ids if i not in live]


def read_csv(store: Any, path: str | Path) -> tuple[list[int], list[str]]:
    """Contact ids from a CSV with a `contact_id`, `external_id` or `email` column (looked up
    in batches: one query per few hundred rows), and the values that match no contact."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            header = [h.strip() for h in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DeployError(f"{path}: cannot read the CSV: {exc}") from None
    column = next((c for c in CSV_COLUMNS if c in header), None)
    if column is None:
        raise DeployError(f"{path}: needs a column named one of {', '.join(CSV_COLUMNS)} (found: {', '.join(header) or 'none'})")
    values = [(row.get(column) or "").strip() for row in rows]
    if column == "contact_id":
        live = store.live_contact_ids([int(v) for v in values if v.isdigit()])
        found = {v: int(v) for v in values if v.isdigit() and int(v) in live}
    else:
        found = store.contact_ids_by(column, [v for v in values if v])
    ids = [found[v] for v in values if v in found]
    unknown = [v or "(blank)" for v in values if v not in found]
    return list(dict.fromkeys(ids)), unknown


async def enrol_many(
    client: Any,
    store: Any,
    journey: Journey,
    contact_ids: list[int],
    *,
    concurrency: int = 20,
    task_queue: str = TASK_QUEUE,
    on_done: Callable[[], None] | None = None,
    search_attributes: bool = True,
) -> EnrolSummary:
    """Start the journey for each contact, `concurrency` starts in flight (the runs keep their
    search attributes current unless `search_attributes` is False). The store is read
    and written per batch of `BATCH` contacts, in threads, so the event loop only starts runs:
    the journey's state (a drain stops the rest within a batch) and the contacts' last
    enrolments in one read, the new enrolment rows in one write transaction."""
    from engine.enrol import start_run

    summary = EnrolSummary()
    queue: asyncio.Queue[tuple[int, Any, Any, Any] | None] = asyncio.Queue(maxsize=BATCH)
    recorded: list[dict[str, Any]] = []
    write_lock = asyncio.Lock()

    async def record(at_least: int) -> None:
        """Write the collected rows once there are `at_least`; the other starts go on meanwhile."""
        if not recorded or len(recorded) < at_least:
            return
        rows = recorded[:]
        del recorded[:]
        async with write_lock:  # one write at a time, in order
            await asyncio.to_thread(store.record_enrolments, rows)

    async def read_ahead() -> None:
        for i in range(0, len(contact_ids), BATCH):
            batch = contact_ids[i:i + BATCH]
            state, last, memo = await asyncio.to_thread(_state_and_lasts, store, journey.id, batch)
            for contact_id in batch:
                await queue.put((contact_id, state, last.get(contact_id), memo))
        for _ in range(concurrency):
            await queue.put(None)

    async def start_each() -> None:
        while (item := await queue.get()) is not None:
            contact_id, state, last, memo = item
            result, row = await start_run(client, journey, contact_id, state=state, last=last,
                                          task_queue=task_queue, search_attributes=search_attributes, memo=memo)
            if row is not None:
                recorded.append(row)
                await record(BATCH)
            _count(summary, result.status, result.reason)
            if on_done:
                on_done()

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(read_ahead())
            for _ in range(concurrency):
                group.create_task(start_each())
    except BaseExceptionGroup as failed:  # the first failure, as a plain exception for the CLI's handlers
        raise failed.exceptions[0] from None
    finally:
        await record(0)  # runs started before a failure keep their enrolment row
    return summary


def _state_and_lasts(store: Any, journey_id: str, contact_ids: list[int]) -> tuple[Any, dict[int, Any], Any]:
    """The journey's state, the contacts' last enrolments, the live deployment's run memo."""
    return store.get_journey_state(journey_id), store.last_enrolments(journey_id, contact_ids), store.live_memo()


def _count(summary: EnrolSummary, status: str, reason: str) -> None:
    if status == "started":
        summary.started += 1
    elif status == "already_running":
        summary.already_running += 1
    else:
        summary.refused[reason or status] += 1
