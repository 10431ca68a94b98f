"""Counting runs in flight through Temporal visibility (search attributes Journey,
JourneyVersion and Step, kept current by the workflow), and why they wait (the `state`
query of a sample of them, answered by a worker). Visibility is eventually consistent:
counts may lag a second behind."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from compiler.ir import Journey, Step, WaitFor

RUNNING = 'ExecutionStatus="Running"'


def quote(value: str) -> str:
    """A visibility-query string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def running_query(journey_id: str, version: str | None = None, step: str | None = None) -> str:
    parts = [f"Journey={quote(journey_id)}"]
    if version is not None:
        parts.append(f"JourneyVersion={quote(version)}")
    if step is not None:
        parts.append(f"Step={quote(step)}")
    return " AND ".join(parts + [RUNNING])


async def count(client: Any, query: str) -> int:
    return int((await client.count_workflows(query)).count)


async def running_by_step(client: Any, journey: Journey) -> dict[str, int]:
    """Running runs of exactly this version, per step id (steps with none left out)."""
    if not await count(client, running_query(journey.id, journey.version)):
        return {}
    out: dict[str, int] = {}
    for step in journey.steps:
        n = await count(client, running_query(journey.id, journey.version, step.id))
        if n:
            out[step.id] = n
    return out


@dataclass(frozen=True)
class StepCount:
    journey: str
    version: str
    step: str
    running: int
    why: tuple[str, ...] = ()  # what the runs there wait for: "quiet hours until 2026-12-08 08:00 UTC", ...


WHY_SAMPLE = 20  # runs asked per step (a query each)
QUERY_TIMEOUT = timedelta(seconds=5)  # a worker may have to replay a run first
NO_WORKER = "why unknown: no worker answered the state query"
POSTPONED = {"quiet_hours": "quiet hours", "send_window": "send window", "frequency_cap": "frequency cap"}


def when(iso: str) -> str:
    """`2026-12-08 08:00 UTC`."""
    return datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def waiting_for(step: Step, state: dict[str, Any]) -> str:
    """What a run at `step` waits for, from its `state` query, without the time: `quiet hours`,
    `frequency cap`, `wait_for email.clicked, email.opened`, `wait`; `not waiting` while an
    activity runs (or retries)."""
    if not state.get("waiting"):
        return "not waiting (an activity runs or retries)"
    last = (state.get("trail") or [{}])[-1]
    if last.get("step") == step.id and last.get("outcome") == "postponed":
        return POSTPONED.get(str(last.get("reason")), f"postponed ({last.get('reason')})")
    if isinstance(step, WaitFor):
        return "wait_for " + ", ".join(dict.fromkeys(e.event for e in step.events))
    return step.type


def summarise(reasons: list[tuple[str, str | None]]) -> tuple[str, ...]:
    """[(what, until)] -> `quiet hours until T` for one run, `3 x wait_for x until T1 .. T2` for several."""
    groups: dict[str, list[str | None]] = {}
    for what, until in reasons:
        groups.setdefault(what, []).append(until)
    out = []
    for what, untils in groups.items():
        times = sorted(when(u) for u in untils if u)
        span = "" if not times else f" until {times[0]}" if times[0] == times[-1] else f" until {times[0]} .. {times[-1]}"
        out.append(f"{len(untils)} x {what}{span}" if len(untils) > 1 else f"{what}{span}")
    return tuple(out)


async def why_waiting(client: Any, journey: Journey, step: Step, running: int) -> tuple[str, ...]:
    """Why the runs at `step` wait, from the `state` query of up to WHY_SAMPLE of them."""
    from workflows.run_types import QUERY_STATE

    ids = []
    async for wf in client.list_workflows(running_query(journey.id, journey.version, step.id), limit=WHY_SAMPLE):
        ids.append(wf.id)

    async def ask(workflow_id: str) -> dict[str, Any] | None:
        try:
            return await client.get_workflow_handle(workflow_id).query(QUERY_STATE, rpc_timeout=QUERY_TIMEOUT)
        except Exception:  # no worker, or the run closed meanwhile
            return None

    states = [s for s in await asyncio.gather(*(ask(i) for i in ids)) if s is not None and s.get("step") == step.id]
    if ids and not states:
        return (NO_WORKER,)
    why = summarise([(waiting_for(step, s), s.get("waiting_until")) for s in states])
    return why + ((f"(asked {len(states)} of {running})",) if len(states) < running else ())


async def status_counts(client: Any, versions: Iterable[Journey], *, why: bool = False) -> list[StepCount]:
    """Per journey, version and step: how many runs are running now (and with `why`, what they wait for)."""
    rows: list[StepCount] = []
    for journey in versions:
        for step_id, n in (await running_by_step(client, journey)).items():
            reasons = await why_waiting(client, journey, journey.step(step_id), n) if why else ()
            rows.append(StepCount(journey.id, journey.version, step_id, n, reasons))
    return rows
