"""The segment sweep on Temporal's time-skipping server when its definitions changed under a
deployed journey: one warning line and a completed sweep whose result says why (no retries,
no failed workflow, so the schedule's next sweep runs and works once the file is fixed)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.sweep import SweepActivities
from compiler.compile import compile_file
from devstack import binaries
from tests.deploy_helpers import write_journey
from workflows.segment_sweep import SWEEP_WORKFLOW, SegmentSweepWorkflow, SweepInput, SweepResult

pytestmark = pytest.mark.asyncio
GOOD = "segments:\n  - id: vips\n    where: {tag: vip}\n"


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[Client]:
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binaries.test_server()) as env:
        yield env.client


@pytest.fixture
def segments_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "segments.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("NURTURE_SEGMENTS", str(path))
    return path


def deploy(store, folder: Path, segment: str = "vips") -> str:
    """A journey entering by `segment`, compiled against `folder`'s segments.yaml and made active."""
    result = compile_file(write_journey(folder, "sweep-demo", entry=f"{{segment: {segment}}}"))
    assert result.journey, result.errors
    store.save_journey_version("sweep-demo", result.journey.version, result.journey.to_dict())
    store.set_journey_state("sweep-demo", active_version=result.journey.version)
    return "sweep-demo"


def rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new mtime for the cache


async def sweep(client: Client, store, journey_id: str) -> tuple[SweepResult, list[int]]:
    """Run one sweep; its result and the types of its history events."""
    queue = f"sweep-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[SegmentSweepWorkflow],
                      activities=[SweepActivities(store).sweep_segment]):
        handle = await client.start_workflow(SWEEP_WORKFLOW, SweepInput(journey_id, queue), id=f"{queue}/run",
                                             task_queue=queue, result_type=SweepResult)
        result = await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        events = [e.event_type async for e in handle.fetch_history_events()]
    return result, events


async def test_a_segment_removed_under_a_deployed_journey_is_reported_not_retried(
    client: Client, sqlite_store, segments_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journey = deploy(sqlite_store, segments_file.parent)
    rewrite(segments_file, "segments:\n  - id: others\n    where: {tag: x}\n")
    with caplog.at_level(logging.WARNING, logger="activities.sweep"):
        result, events = await sweep(client, sqlite_store, journey)
    assert result.error == "segment sweep of journey 'sweep-demo' skipped: unknown segment \"vips\" (known: others)"
    assert (result.members, result.counts) == (0, {})
    assert events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in events
    assert [r.getMessage() for r in caplog.records] == [result.error]
    assert not any(r.exc_info for r in caplog.records)
    rewrite(segments_file, GOOD)  # fixed: the next sweep works
    result, _ = await sweep(client, sqlite_store, journey)
    assert (result.error, result.members) == (None, 0)


async def test_a_segments_file_that_no_longer_validates_is_reported(
    client: Client, sqlite_store, segments_file: Path
) -> None:
    journey = deploy(sqlite_store, segments_file.parent)
    rewrite(segments_file, "segments:\n  - {id: vips, where: {bogus: 1}}\n  - {id: b, where: {bogus: 1}}\n")
    result, events = await sweep(client, sqlite_store, journey)
    assert result.error and result.error.startswith(f"segment sweep of journey 'sweep-demo' skipped: {segments_file}:")
    assert result.error.endswith("(and 1 more error(s))")
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in events


async def test_a_journey_no_longer_deployed_is_reported(client: Client, sqlite_store, segments_file: Path) -> None:
    result, _ = await sweep(client, sqlite_store, "never-deployed")
    assert result.error == "segment sweep of journey 'never-deployed' skipped: journey 'never-deployed' is not deployed"


async def test_the_schedule_keeps_sweeping_through_a_bad_definition(sqlite_store, segments_file: Path) -> None:
    """On the real dev server: the journey's schedule triggered twice with its segment gone, then
    once after the fix. Every sweep completes, the schedule is never paused, and `last_sweep`
    tells an operator what the last one said."""
    from datetime import timedelta

    from deploy.schedules import ensure_schedule, last_sweep, schedule_id
    from devstack.ports import free_port
    from devstack.temporal_server import TemporalDevServer
    from tests.deploy_helpers import eventually

    journey = deploy(sqlite_store, segments_file.parent)
    rewrite(segments_file, "segments:\n  - id: others\n    where: {tag: x}\n")
    with TemporalDevServer(port=free_port(), search_attributes={}) as server:
        dev = await server.connect()
        queue = f"sweep-{uuid.uuid4().hex[:8]}"
        async with Worker(dev, task_queue=queue, workflows=[SegmentSweepWorkflow],
                          activities=[SweepActivities(sqlite_store).sweep_segment]):
            assert await ensure_schedule(dev, journey, queue, every=timedelta(hours=1)) == "created"
            schedule = dev.get_schedule_handle(schedule_id(journey))

            async def sweeps_done(n: int) -> SweepResult | None:
                info = (await schedule.describe()).info
                done = len(info.recent_actions) >= n and not info.running_actions
                return await last_sweep(dev, journey) if done else None

            for n in (1, 2):
                await schedule.trigger()
                result = await eventually(lambda: sweeps_done(n), timeout=30)
                assert result and result.error == (
                    "segment sweep of journey 'sweep-demo' skipped: unknown segment \"vips\" (known: others)")
            desc = await schedule.describe()
            assert not desc.schedule.state.paused and desc.info.num_actions == 2
            statuses = [(await dev.get_workflow_handle(a.action.workflow_id).describe()).status
                        for a in desc.info.recent_actions]
            assert statuses == [WorkflowExecutionStatus.COMPLETED] * 2
            rewrite(segments_file, GOOD)
            await schedule.trigger()
            result = await eventually(lambda: sweeps_done(3), timeout=30)
            assert result and (result.error, result.members) == (None, 0)
            await schedule.delete()
