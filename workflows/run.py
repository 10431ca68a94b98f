"""The state of one journey run and the helpers its step handlers share.

Deterministic code only: time comes from `workflow.now()`, waiting from
`workflow.wait_condition`, every effect from an activity.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from compiler.conditions import evaluate
    from compiler.ir import Journey, Step
    from workflows.run_types import JourneyEvent, MigrateRequest, RunInput

STEP_KEY = SearchAttributeKey.for_keyword("Step")
STAGE_KEY = SearchAttributeKey.for_keyword("Stage")
SCORE_KEY = SearchAttributeKey.for_int("Score")

TRAIL_LIMIT = 200
EVENT_BUFFER = 200

# Effects retry on temporary failures for up to a day (SMTP down, HTTP 5xx);
# permanent failures come back as results, not exceptions.
EFFECT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5)


class ExitRun(Exception):
    """Raised by a handler (or an interruption) to end the run now."""

    def __init__(self, reason: str, outcome: str = "exited") -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome


class MigrateRun(Exception):
    """Raised while waiting when a migration to a new version arrives."""

    def __init__(self, request: MigrateRequest, step_id: str) -> None:
        super().__init__(step_id)
        self.request = request
        self.step_id = step_id


class Run:
    def __init__(self, inp: RunInput) -> None:
        self.input = inp
        self.journey = Journey.from_dict(inp.journey)
        self.visits: dict[str, int] = dict(inp.visits)
        self.sent: dict[str, str] = dict(inp.sent)
        self.trail: list[dict[str, Any]] = list(inp.trail)
        self.events: list[tuple[int, JourneyEvent]] = []
        self.event_seq = 0
        self.consumed: set[int] = set()
        self.profile: dict[str, Any] | None = None
        self.profile_dirty = True  # read it again before using it (a change arrived, or time passed)
        self.profile_signals = 0  # profile changes signalled so far
        self.signals_read = 0  # ... of which the last profile read saw
        self.consent_changed = False
        self.migration: MigrateRequest | None = None
        self.current: Step | None = None
        self.steps_run = 0
        self.waiting_until: datetime | None = None  # set while blocked in wait()
        self.waiting = False
        self.completion_recorded = False  # a last send recorded `journey.completed` (SendInput.finish)

    # ------------------------------------------------------------ signals

    def on_event(self, event: JourneyEvent) -> None:
        self.event_seq += 1
        self.events.append((self.event_seq, event))
        if len(self.events) > EVENT_BUFFER:
            del self.events[0]

    def on_profile_changed(self, reason: str) -> None:
        self.profile_dirty = True
        self.profile_signals += 1
        if reason == "consent":
            self.consent_changed = True

    # ------------------------------------------------------------ identity

    def ref(self, step: Step) -> c.StepRef:
        info = workflow.info()
        return c.StepRef(
            journey_id=self.journey.id,
            version=self.journey.version,
            workflow_id=info.workflow_id,
            # the chain's first run id: stable across continue-as-new, retries and resets
            run_id=info.first_execution_run_id,
            step_id=step.id,
            visit=self.visits.get(step.id, 1),
            contact_id=self.input.contact_id,
            at=workflow.now().isoformat(),
        )

    def note(self, step: Step, outcome: str, **detail: Any) -> None:
        """Add to the run's trail (returned in the result; codes and ids only)."""
        entry = {"at": workflow.now().isoformat(), "step": step.id, "type": step.type, "outcome": outcome}
        entry.update({k: v for k, v in detail.items() if v not in (None, "")})
        self.trail.append(entry)
        if len(self.trail) > TRAIL_LIMIT:
            del self.trail[0]
        workflow.set_current_details(f"step {step.id} ({step.type}): {outcome}")

    # ------------------------------------------------------------ activities

    async def effect(self, name: str, arg: Any, result_type: type, summary: str) -> Any:
        """A side effect as a regular activity (retried on temporary failure)."""
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=20),  # effects heartbeat every 5 s (activities/registry.py)
            schedule_to_close_timeout=timedelta(days=1),
            retry_policy=EFFECT_RETRY,
            summary=summary,
        )

    async def local(self, name: str, arg: Any, result_type: type, summary: str) -> Any:
        """A short read or bookkeeping call as a local activity (one history marker)."""
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=LOCAL_RETRY,
            summary=summary,
        )

    # ------------------------------------------------------------ profile and goal

    async def fresh_profile(self) -> dict[str, Any]:
        if self.profile is None or self.profile_dirty:
            self.profile_dirty = False
            self.signals_read = self.profile_signals
            profile = await self.local(c.READ_PROFILE, self.profile_request(), dict, "read_profile")
            self.set_profile(profile)
        assert self.profile is not None
        return self.profile

    def profile_request(self) -> int | c.ProfileInput:
        """The contact id; with the step's ref when the policy names a profiling purpose."""
        purpose = self.journey.policy.purpose_for("profiling")
        if purpose is None or self.current is None:
            return self.input.contact_id
        return c.ProfileInput(ref=self.ref(self.current), profiling=purpose)

    def set_profile(self, profile: dict[str, Any]) -> None:
        before = (self.profile or {}).get("consent") or {}
        self.profile = profile
        if self.input.search_attributes:
            workflow.upsert_search_attributes(
                [STAGE_KEY.value_set(profile.get("stage") or ""), SCORE_KEY.value_set(int(profile.get("score") or 0))]
            )
        self._check_withdrawal(before, profile.get("consent") or {})

    def _check_withdrawal(self, before: dict[str, bool], after: dict[str, bool]) -> None:
        """Policy `on_no_consent: exit`: a withdrawal of a channel the journey uses ends it."""
        if self.journey.policy.on_no_consent != "exit":
            return
        for channel, _purpose in self.journey.policy.consent:
            if before.get(channel) and not after.get(channel):
                raise ExitRun(f"consent_withdrawn:{channel}")

    async def check_goal(self) -> None:
        if self.journey.goal is None:
            return
        profile = await self.fresh_profile()
        if evaluate(self.journey.goal, profile):
            raise ExitRun("goal", outcome="goal")

    # ------------------------------------------------------------ waiting

    async def wait(self, ready: Callable[[], bool], until: datetime | None, summary: str) -> bool:
        """Wait until `ready()` or the deadline; True if ready. Meanwhile a profile change
        re-checks the goal (and consent) and a migration request interrupts the wait."""
        while True:
            remaining = None
            if until is not None:
                remaining = (until - workflow.now()).total_seconds()
                if remaining <= 0:
                    return ready()
            self.waiting, self.waiting_until = True, until
            try:
                await workflow.wait_condition(
                    lambda: ready() or self.profile_news() or self.migration is not None,
                    timeout=timedelta(seconds=remaining) if remaining is not None else None,
                    timeout_summary=summary,
                )
            except TimeoutError:
                return ready()
            finally:
                self.waiting, self.waiting_until = False, None
            if ready():
                return True
            if self.migration is not None:
                assert self.current is not None
                raise MigrateRun(self.migration, self.current.id)
            if self.profile_news():
                await self.fresh_profile()
                await self.check_goal()

    def profile_news(self) -> bool:
        """A profile change the run has not read yet: a wait wakes to re-check goal and consent.
        (Revision 1 also woke for a profile never read, costing every run a read.)"""
        if self.input.revision < 2:
            return self.profile_dirty
        return self.profile_signals != self.signals_read

    def match_event(self, event_type: str, of_step: str | None, since_seq: int) -> int | None:
        """The sequence number of the first unconsumed event that matches, if any."""
        for seq, ev in self.events:
            if seq in self.consumed or ev.type != event_type or ev.likely_bot:
                continue
            if of_step is None:
                if seq > since_seq:
                    return seq
            elif ev.message_id and ev.message_id == self.sent.get(of_step):
                return seq
        return None

    def set_step_attribute(self, step: Step) -> None:
        if self.input.search_attributes:
            workflow.upsert_search_attributes([STEP_KEY.value_set(step.id)])
