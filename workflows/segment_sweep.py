"""SegmentSweepWorkflow: started by a Temporal Schedule for each segment-entry journey;
one activity enrols the segment's current members (see activities/sweep.py). A sweep whose
definitions cannot be used completes with `SweepResult.error` set (not a failed workflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

SWEEP_WORKFLOW = "SegmentSweepWorkflow"
SWEEP_ACTIVITY = "sweep_segment"


@dataclass
class SweepInput:
    journey_id: str
    task_queue: str  # where the journey runs it starts are served


@dataclass
class SweepResult:
    members: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # started | already_running | refused | ...
    error: str | None = None  # why nothing was swept (a bad definition), ids only


@workflow.defn(name=SWEEP_WORKFLOW)
class SegmentSweepWorkflow:
    @workflow.run
    async def run(self, inp: SweepInput) -> SweepResult:
        return await workflow.execute_activity(
            SWEEP_ACTIVITY,
            inp,
            result_type=SweepResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary=f"sweep segment of {inp.journey_id}",
        )
