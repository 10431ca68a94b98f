"""The segment sweep: enrol the current members of a journey's entry segment.

Segment membership comes from `marketing.segments.segment_members(store, segment_id)`;
starts go through `engine.enrol` (re-entry rules, draining) with the activity's client."""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any, Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.segment_sweep import SWEEP_ACTIVITY, SweepInput, SweepResult

NO_SEGMENTS = "segment entry needs marketing.segments.segment_members, which is not installed"


def segment_members_function() -> Callable[[Any, str], list[int]] | None:
    """`marketing.segments.segment_members` if that module exists, else None."""
    try:
        module = importlib.import_module("marketing.segments")
    except ModuleNotFoundError as exc:
        if exc.name in ("marketing", "marketing.segments"):
            return None
        raise
    return getattr(module, "segment_members", None)


class SweepActivities:
    def __init__(self, store: Any) -> None:
        self.store = store

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_segment(self, inp: SweepInput) -> SweepResult:
        from compiler.ir import Journey
        from engine.enrol import enrol

        members_of = segment_members_function()
        if members_of is None:
            raise ApplicationError(NO_SEGMENTS, non_retryable=True)
        state = self.store.get_journey_state(inp.journey_id)
        ir = self.store.get_journey_version(inp.journey_id, state.active_version) if state else None
        if ir is None:
            raise ApplicationError(f"journey {inp.journey_id!r} is not deployed", non_retryable=True)
        journey = Journey.from_dict(ir)
        if journey.entry.segment is None:
            raise ApplicationError(f"journey {journey.id!r} has no segment entry", non_retryable=True)
        members = members_of(self.store, journey.entry.segment)
        counts: Counter[str] = Counter()
        client = activity.client()
        for i, contact_id in enumerate(members):
            result = await enrol(client, self.store, journey, contact_id,
                                 task_queue=inp.task_queue, search_attributes=True)
            counts[result.status if result.status != "refused" else f"refused:{result.reason}"] += 1
            if i % 50 == 0:
                activity.heartbeat(i)
        return SweepResult(members=len(members), counts=dict(counts))
