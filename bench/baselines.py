"""Hand-written Temporal workflows doing what the overhead benchmark's reference journey does
(3 emails, 2 short waits, one branch on the profile), with Nurture's own activities:

- `HandWritten`: what a careful engineer would write: send_email (consent checked inside it),
  the profile read for the branch as a local activity, timers for the waits;
- `Naive`: consent checked in its own activity before each send (two activities per email).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@dataclass
class BaselineInput:
    journey_id: str
    version: str
    contact_id: int
    templates: dict[str, dict[str, str]]  # name -> EmailTemplate fields
    wait_s: float


async def _send(inp: BaselineInput, step: str) -> c.SendResult:
    info = workflow.info()
    ref = c.StepRef(journey_id=inp.journey_id, version=inp.version, workflow_id=info.workflow_id,
                    run_id=info.first_execution_run_id, step_id=step, visit=1, contact_id=inp.contact_id,
                    at=workflow.now().isoformat())
    send = c.SendInput(ref=ref, template_name=step, purpose="marketing", templates={step: inp.templates[step]})
    return await workflow.execute_activity(c.SEND_EMAIL, send, result_type=c.SendResult, retry_policy=RETRY,
                                           start_to_close_timeout=timedelta(seconds=60))


@workflow.defn(name="BenchHandWritten")
class HandWritten:
    @workflow.run
    async def run(self, inp: BaselineInput) -> int:
        sent = 0
        sent += (await _send(inp, "first")).status == "sent"
        await workflow.sleep(inp.wait_s)
        profile = await workflow.execute_local_activity(c.READ_PROFILE, inp.contact_id, result_type=dict,
                                                        start_to_close_timeout=timedelta(seconds=15))
        step = "second" if int(profile.get("score") or 0) >= 0 else "other"
        sent += (await _send(inp, step)).status == "sent"
        await workflow.sleep(inp.wait_s)
        sent += (await _send(inp, "third")).status == "sent"
        return sent


@workflow.defn(name="BenchNaive")
class Naive:
    @workflow.run
    async def run(self, inp: BaselineInput) -> int:
        sent = 0
        for i, step in enumerate(["first", "second", "third"]):
            if i:
                await workflow.sleep(inp.wait_s)
            profile = await workflow.execute_activity(c.READ_PROFILE, inp.contact_id, result_type=dict,
                                                      start_to_close_timeout=timedelta(seconds=15), retry_policy=RETRY)
            if i == 1 and int(profile.get("score") or 0) < 0:
                step = "other"
            if (profile.get("consent") or {}).get("email"):
                sent += (await _send(inp, step)).status == "sent"
        return sent
