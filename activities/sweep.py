"""The segment sweep: enrol the current members of a journey's entry segment.

Segment membership comes from `marketing.segments.segment_members(store, segment_id)`;
starts go through `engine.enrol` (re-entry rules, draining) with the activity's client.

A sweep that cannot know the members because of a definition (the journey is gone, its
segment is unknown, the segments file no longer validates: the configuration changed under
a deployed journey) is not retried and does not fail the sweep workflow: it logs one warning
line and returns the reason in `SweepResult.error`, so the schedule keeps running and the next
sweep works as soon as the definitions are fixed. Anything else (the database is down) is an
ordinary failure, retried by the workflow's retry policy."""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from types import ModuleType
from typing import Any, Callable

from temporalio import activity

from compiler.config_file import ConfigError
from workflows.segment_sweep import SWEEP_ACTIVITY, SweepInput, SweepResult

NO_SEGMENTS = "segment entry needs marketing.segments.segment_members, which is not installed"
log = logging.getLogger(__name__)


class SweepDefinitionError(Exception):
    """The sweep cannot run as defined; the message says why (ids only)."""


def _segments_module() -> ModuleType | None:
    """`marketing.segments` (loaded by name: it sits in a layer above activities), else None."""
    try:
        return importlib.import_module("marketing.segments")
    except ModuleNotFoundError as exc:
        if exc.name in ("marketing", "marketing.segments"):
            return None
        raise


def segment_members_function() -> Callable[[Any, str], list[int]] | None:
    """`marketing.segments.segment_members` if that module exists, else None."""
    module = _segments_module()
    return getattr(module, "segment_members", None) if module else None


def _members(store: Any, segment_id: str) -> list[int]:
    """The segment's members; SweepDefinitionError when its definition cannot be used."""
    module = _segments_module()
    if module is None or not hasattr(module, "segment_members"):
        raise SweepDefinitionError(NO_SEGMENTS)
    try:
        return module.segment_members(store, segment_id)
    except (module.SegmentError, ConfigError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        more = len(exc.diagnostics) - 1 if isinstance(exc, ConfigError) else 0
        raise SweepDefinitionError(first + (f" (and {more} more error(s))" if more > 0 else "")) from None


class SweepActivities:
    def __init__(self, store: Any) -> None:
        self.store = store

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_segment(self, inp: SweepInput) -> SweepResult:
        try:
            journey, members = self._journey_and_members(inp.journey_id)
        except SweepDefinitionError as exc:
            error = f"segment sweep of journey {inp.journey_id!r} skipped: {exc}"
            log.warning(error)
            return SweepResult(error=error)
        from engine.enrol import enrol

        counts: Counter[str] = Counter()
        client = activity.client()
        for i, contact_id in enumerate(members):
            result = await enrol(client, self.store, journey, contact_id,
                                 task_queue=inp.task_queue, search_attributes=True)
            counts[result.status if result.status != "refused" else f"refused:{result.reason}"] += 1
            if i % 50 == 0:
                activity.heartbeat(i)
        return SweepResult(members=len(members), counts=dict(counts))

    def _journey_and_members(self, journey_id: str) -> tuple[Any, list[int]]:
        from compiler.ir import Journey

        state = self.store.get_journey_state(journey_id)
        ir = self.store.get_journey_version(journey_id, state.active_version) if state else None
        if ir is None:
            raise SweepDefinitionError(f"journey {journey_id!r} is not deployed")
        journey = Journey.from_dict(ir)
        if journey.entry.segment is None:
            raise SweepDefinitionError(f"journey {journey_id!r} has no segment entry")
        return journey, _members(self.store, journey.entry.segment)
