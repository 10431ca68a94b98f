"""Counting runs in flight through Temporal visibility (search attributes Journey,
JourneyVersion and Step, kept current by the workflow). Visibility is eventually
consistent: counts may lag a second behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from compiler.ir import Journey

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


async def status_counts(client: Any, versions: Iterable[Journey]) -> list[StepCount]:
    """Per journey, version and step: how many runs are running now."""
    rows: list[StepCount] = []
    for journey in versions:
        for step, n in (await running_by_step(client, journey)).items():
            rows.append(StepCount(journey.id, journey.version, step, n))
    return rows
