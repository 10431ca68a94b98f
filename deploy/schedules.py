"""Temporal Schedules that sweep the entry segment of segment-triggered journeys, and what
their last sweep said (`last_sweep`: a sweep that met a bad definition completes with
`SweepResult.error`, so the schedule itself never stops)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Schedule,
    WorkflowExecutionStatus,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.segment_sweep import SWEEP_WORKFLOW, SweepInput, SweepResult

DEFAULT_EVERY = timedelta(seconds=int(os.environ.get("NURTURE_SWEEP_EVERY_S", "3600")))


def schedule_id(journey_id: str) -> str:
    return f"segment-sweep/{journey_id}"


def sweep_schedule(journey_id: str, task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SWEEP_WORKFLOW,
            SweepInput(journey_id=journey_id, task_queue=task_queue),
            id=f"segment-sweep/{journey_id}/run",
            task_queue=task_queue,
            static_summary=f"segment sweep for {journey_id}",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def _same(desc: Any, task_queue: str, every: timedelta) -> bool:
    spec, action = desc.schedule.spec, desc.schedule.action
    intervals = [i.every for i in spec.intervals]
    return intervals == [every] and getattr(action, "task_queue", None) == task_queue


async def ensure_schedule(client: Any, journey_id: str, task_queue: str, every: timedelta = DEFAULT_EVERY) -> str:
    """Create or update the journey's sweep schedule; returns created | updated | unchanged."""
    handle = client.get_schedule_handle(schedule_id(journey_id))
    try:
        desc = await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        await client.create_schedule(schedule_id(journey_id), sweep_schedule(journey_id, task_queue, every))
        return "created"
    if _same(desc, task_queue, every):
        return "unchanged"
    new = sweep_schedule(journey_id, task_queue, every)

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=new)

    await handle.update(update)
    return "updated"


async def delete_schedule(client: Any, journey_id: str) -> bool:
    """Remove the journey's sweep schedule; False if there was none."""
    try:
        await client.get_schedule_handle(schedule_id(journey_id)).delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def last_sweep(client: Any, journey_id: str) -> SweepResult | None:
    """The result of the journey's most recent finished sweep; None when none has finished.
    A sweep workflow that did not complete (failed, timed out, terminated) is a result with
    that as its error."""
    desc = await client.get_schedule_handle(schedule_id(journey_id)).describe()
    for action in reversed(desc.info.recent_actions):
        run = action.action
        handle = client.get_workflow_handle(run.workflow_id, run_id=run.first_execution_run_id, result_type=SweepResult)
        status = (await handle.describe()).status
        if status == WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        if status not in (None, WorkflowExecutionStatus.RUNNING):
            return SweepResult(error=f"sweep workflow {run.workflow_id} {status.name.lower()}")
    return None
