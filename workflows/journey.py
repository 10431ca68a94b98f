"""JourneyWorkflow: one durable run per contact per journey, pinned to one version.

The workflow is a small interpreter over the compiled journey (compiler.ir): it walks
the steps, asks the handler registered for each step type what comes next, checks the
goal before every step, and continues as new before its history grows too long.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from workflows.run import ExitRun, MigrateRun, Run
    from workflows.run_types import (
        QUERY_STATE,
        REVISION,
        SIGNAL_EVENT,
        SIGNAL_MIGRATE,
        SIGNAL_PROFILE_CHANGED,
        WORKFLOW_NAME,
        JourneyEvent,
        MigrateRequest,
        ProfileChanged,
        RunInput,
        RunResult,
    )
    from workflows.steps import HANDLERS

VERSION_KEY = SearchAttributeKey.for_keyword("JourneyVersion")

# guards against a journey graph that loops without waiting (the compiler refuses those)
MAX_STEPS_PER_RUN = 10_000


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    def __init__(self) -> None:
        self.run: Run | None = None
        self._early: list[Any] = []  # signals that arrive before run() sets up state

    @workflow.signal(name=SIGNAL_EVENT)
    def on_event(self, event: JourneyEvent) -> None:
        if self.run is None:
            self._early.append(("event", event))
        else:
            self.run.on_event(event)

    @workflow.signal(name=SIGNAL_PROFILE_CHANGED)
    def on_profile_changed(self, change: ProfileChanged) -> None:
        if self.run is None:
            self._early.append(("profile", change))
        else:
            self.run.on_profile_changed(change.reason)

    @workflow.signal(name=SIGNAL_MIGRATE)
    def on_migrate(self, request: MigrateRequest) -> None:
        if self.run is not None:
            self.run.migration = request

    @workflow.query(name=QUERY_STATE)
    def state(self) -> dict[str, Any]:
        run = self.run
        if run is None:
            return {}
        return {
            "journey": run.journey.id,
            "version": run.journey.version,
            "step": run.current.id if run.current else None,
            "visits": dict(run.visits),
            "waiting": run.waiting,
            "waiting_until": run.waiting_until.isoformat() if run.waiting_until else None,
            "trail": list(run.trail[-20:]),
        }

    @workflow.run
    async def execute(self, inp: RunInput) -> RunResult:
        run = self.run = Run(inp)
        for kind, payload in self._early:
            if kind == "event":
                run.on_event(payload)
            else:
                run.on_profile_changed(payload.reason)
        step_id: str | None = inp.start_step or run.journey.first_step
        try:
            while step_id is not None:
                if workflow.info().is_continue_as_new_suggested():
                    self._continue(run, run.journey.to_dict(), step_id)
                step = run.current = run.journey.step(step_id)
                run.visits[step.id] = run.visits.get(step.id, 0) + 1
                run.steps_run += 1
                if run.steps_run > MAX_STEPS_PER_RUN:
                    raise ExitRun("step_limit")
                run.set_step_attribute(step)
                await run.check_goal()
                step_id = await HANDLERS[step.type](run, step)
        except ExitRun as done:
            if run.current is not None and not (run.trail and run.trail[-1].get("outcome") == "exit"):
                run.note(run.current, done.outcome, reason=done.reason)
            return await self._finish(run, done.outcome, done.reason)
        except MigrateRun as move:
            self._continue(run, move.request.journey, move.step_id, migrated=True)
        return await self._finish(run, "completed", "end")

    async def _finish(self, run: Run, outcome: str, reason: str) -> RunResult:
        last = run.current or run.journey.steps[0]
        if not (outcome == "completed" and run.completion_recorded):
            await run.local(
                c.RECORD_OUTCOME,
                c.OutcomeInput(ref=run.ref(last), outcome=outcome, detail={"reason": reason}),
                type(None),
                f"finish: {outcome} ({reason})",
            )
        workflow.set_current_details(f"finished: {outcome} ({reason}) at step {last.id}")
        return RunResult(outcome=outcome, reason=reason, steps=run.steps_run, trail=run.trail)

    @staticmethod
    def _continue(run: Run, journey: dict[str, Any], step_id: str, migrated: bool = False) -> None:
        """Continue as new at `step_id`, keeping what the next run must remember.
        A migrated run re-enters its current step (a wait starts over)."""
        visits = dict(run.visits)
        if migrated:  # the current step was entered already; entering again counts once
            visits[step_id] = max(visits.get(step_id, 1) - 1, 0)
        attrs = None  # None: the next run keeps this run's search attributes
        if migrated and run.input.search_attributes:  # ... except the version it now runs
            attrs = workflow.info().typed_search_attributes.updated(VERSION_KEY.value_set(journey.get("version", "")))
        workflow.continue_as_new(
            RunInput(
                journey=journey,
                contact_id=run.input.contact_id,
                key=run.input.key,
                search_attributes=run.input.search_attributes,
                revision=REVISION,  # a new history: the current behaviour
                start_step=step_id,
                visits=visits,
                sent=dict(run.sent),
                trail=run.trail[-50:],
            ),
            search_attributes=attrs,
        )
