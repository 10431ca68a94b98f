"""Hand-written Temporal workflows doing what the overhead benchmark's reference journey does
(3 emails, 2 short waits, one branch on the profile), with Nurture's own activities:

- `HandWritten`: what a careful engineer would write: send_email (consent checked inside it),
  the profile read for the branch as a local activity, timers for the waits;
- `HandWrittenRecorded`: the same plus the outcome record reports need, as a local activity of
  its own at the end (Nurture writes it in the last send's commit when a run ends on a send);
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


def _ref(inp: BaselineInput, step: str) -> c.StepRef:
    info = workflow.info()
    return c.StepRef(journey_id=inp.journey_id, version=inp.version, workflow_id=info.workflow_id,
                     run_id=info.first_execution_run_id, step_id=step, visit=1, contact_id=inp.contact_id,
                     at=workflow.now().isoformat())


async def _send(inp: BaselineInput, step: str) -> c.SendResult:
    send = c.SendInput(ref=_ref(inp, step), template_name=step, purpose="marketing", templates={step: inp.templates[step]})
    return await workflow.execute_activity(c.SEND_EMAIL, send, result_type=c.SendResult, retry_policy=RETRY,
                                           start_to_close_timeout=timedelta(seconds=60))


async def _hand_written(inp: BaselineInput) -> int:
    """What a careful engineer would write for the reference journey; the emails sent."""
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


@workflow.defn(name="BenchHandWritten")
class HandWritten:
    @workflow.run
    async def run(self, inp: BaselineInput) -> int:
        return await _hand_written(inp)


@workflow.defn(name="BenchHandWrittenRecorded")
class HandWrittenRecorded:
    """HandWritten plus what Nurture does at the end of every run for its reports: the outcome
    record (a local activity: the `journey.completed` event, the enrolment closed)."""

    @workflow.run
    async def run(self, inp: BaselineInput) -> int:
        sent = await _hand_written(inp)
        await workflow.execute_local_activity(c.RECORD_OUTCOME, c.OutcomeInput(ref=_ref(inp, "third"), outcome="completed"),
                                              start_to_close_timeout=timedelta(seconds=15))
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
