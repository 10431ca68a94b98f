"""`status` says what runs wait for and until when (quiet hours, a frequency cap, a wait_for),
on the real Temporal dev server with a worker (the runs' `state` query)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from deploy.apply import apply_plan
from deploy.load import load_for_deploy
from deploy.plan import build_plan, deployed
from deploy.report import format_status
from deploy.visibility import NO_WORKER, StepCount, status_counts, summarise, why_waiting
from engine.enrol import JOURNEY_KEY, VERSION_KEY, enrol
from engine.events import publish
from tests.deploy_helpers import eventually, new_contact, stack_config, started_stack, write_template
from workflows.run import STEP_KEY
from workflows.run_types import QUERY_STATE


def _journeys(folder: Path) -> Path:
    """status-cap: hello -> pause (wait_for test.go, 1h) -> again (capped: 1 email per 7d);
    status-quiet: one email under quiet hours that cover the next two hours."""
    write_template(folder, "hello", "Hello", "Read the guide")
    now = datetime.now(timezone.utc)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    (folder / "status-cap.yaml").write_text(
        "journey: status-cap\nentry: {manual: true}\n"
        "policy:\n  consent: {email: marketing}\n  frequency_cap: {email: {max: 1, per: 7d}}\n"
        "steps:\n  - {id: hello, type: send_email, template: hello}\n"
        "  - id: pause\n    type: wait_for\n    events:\n      - {event: test.go, next: again}\n"
        "    timeout: 1h\n    on_timeout: again\n"
        "  - {id: again, type: send_email, template: hello}\n")
    (folder / "status-quiet.yaml").write_text(
        "journey: status-quiet\nentry: {manual: true}\n"
        f'policy:\n  consent: {{email: marketing}}\n  quiet_hours: {{from: "{start}", to: "{end}"}}\n'
        "steps:\n  - {id: hello, type: send_email, template: hello}\n")
    return folder


@pytest.mark.asyncio
async def test_status_says_what_each_step_waits_for_and_until_when(tmp_path: Path) -> None:
    folder = _journeys(tmp_path / "journeys")
    stack = await started_stack(stack_config(tmp_path, folder))
    try:
        client, store, queue = stack.client, stack.store, stack.config.task_queue
        plan = await build_plan(client, store, load_for_deploy(folder), whole_set=False)
        await apply_plan(client, store, plan, task_queue=queue)
        journeys = {j: deployed(store, j, store.get_journey_state(j).active_version) for j in ("status-cap", "status-quiet")}

        async def run(journey_id: str, email: str) -> tuple[int, object]:
            cid = new_contact(store, email)
            started = await enrol(client, store, journeys[journey_id], cid, task_queue=queue, search_attributes=True)
            return cid, client.get_workflow_handle(started.workflow_id)

        async def waits_at(handle, step: str) -> dict:
            async def check():
                state = await handle.query(QUERY_STATE)
                return state if state.get("step") == step and state.get("waiting") else None

            state = await eventually(check, timeout=30)
            assert state, f"{handle.id} never waited at {step}"
            return state

        _, waiting = await run("status-cap", "waits@example.com")
        capped_cid, capped = await run("status-cap", "capped@example.com")
        _, quiet = await run("status-quiet", "quiet@example.com")
        pause = await waits_at(waiting, "pause")
        await waits_at(capped, "pause")
        await publish(client, store, capped_cid, "test.go")
        again = await waits_at(capped, "again")
        hushed = await waits_at(quiet, "hello")

        async def rows() -> list[StepCount] | None:
            got = await status_counts(client, journeys.values(), why=True)
            answered = all(r.why and NO_WORKER not in r.why and not r.why[-1].startswith("(asked") for r in got)
            return got if sum(r.running for r in got) == 3 and answered else None

        text = format_status(await eventually(rows, timeout=30) or [])  # visibility lags; a busy machine too
        utc = lambda iso: datetime.fromisoformat(iso).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
        assert f"pause  1  wait_for test.go until {utc(pause['waiting_until'])}" in text, text
        assert f"again  1  frequency cap until {utc(again['waiting_until'])}" in text, text
        assert f"hello  1  quiet hours until {utc(hushed['waiting_until'])}" in text, text
        counts_only = format_status(await status_counts(client, journeys.values()))
        assert "until" not in counts_only and "pause  1" in counts_only

        # a run no worker serves (its task queue has no poller) cannot say why: status says so
        cap = journeys["status-cap"]
        attrs = TypedSearchAttributes([SearchAttributePair(JOURNEY_KEY, cap.id), SearchAttributePair(VERSION_KEY, cap.version),
                                       SearchAttributePair(STEP_KEY, "hello")])
        await client.start_workflow("Unserved", id=f"unserved-{uuid.uuid4().hex[:8]}",
                                    task_queue=f"nobody-{uuid.uuid4().hex[:8]}", search_attributes=attrs)

        async def unserved() -> tuple[str, ...] | None:  # None until visibility lists the run
            why = await why_waiting(client, cap, cap.step("hello"), 1)
            return why if why == (NO_WORKER,) else None

        assert await eventually(unserved, timeout=30) == (NO_WORKER,)
    finally:
        await stack.__aexit__(None, None, None)


def test_several_runs_are_summarised_with_the_span_of_their_deadlines() -> None:
    reasons = [("wait", "2030-01-02T10:00:00+00:00"), ("quiet hours", "2030-01-01T08:00:00+00:00"),
               ("wait", "2030-01-01T09:00:00+01:00")]
    assert summarise(reasons) == ("2 x wait until 2030-01-01 08:00 UTC .. 2030-01-02 10:00 UTC",
                                  "quiet hours until 2030-01-01 08:00 UTC")
