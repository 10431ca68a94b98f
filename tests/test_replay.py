"""Replay every recorded history (tests/histories/*.json) against today's JourneyWorkflow.

The histories stand for runs in flight: a change to the workflow or its step handlers that
would make one of them fail on a worker (a new activity without `workflow.patched`, a
reordered timer, ...) fails here. Re-record with `python -m tests.histories.record`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.histories.record import CASES
from worker import workflow_runner
from workflows.journey import JourneyWorkflow

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestWarning")

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def history(path: Path, text: str | None = None) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay/{path.stem}", text if text is not None else path.read_text())


def replayer() -> Replayer:
    return Replayer(workflows=[JourneyWorkflow], workflow_runner=workflow_runner())


def test_every_case_is_recorded() -> None:
    assert {c.file.name for c in CASES} == {p.name for p in HISTORIES}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    result = await replayer().replay_workflow(history(path))
    assert result.replay_failure is None


async def test_a_different_command_sequence_fails_replay() -> None:
    """The check can fail: a history whose first activity is not what the code schedules
    (as if the workflow had changed under a run in flight) raises NondeterminismError."""
    path = next(p for p in HISTORIES if p.stem == "trial-to-paid--clicked-sales")
    data = json.loads(path.read_text())
    scheduled = [e for e in data["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    scheduled[0]["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "send_sms"
    result = await replayer().replay_workflow(history(path, json.dumps(data)), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()
