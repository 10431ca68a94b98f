"""Run real journeys on Temporal's time-skipping test server, against a throwaway store,
a real SMTP sink and a Twilio-shaped SMS API: `cli.py simulate`, `cli.py test`, and
the workflow tests all drive runs through this.

Events are given relative to a step's send ("email.clicked@welcome+1h") or to the
start ("purchase.completed+2d") and go through the same path as production events
(engine.events.publish), delivered at the right simulated time.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import timing
from activities.deps import Deps, SmsConfig, SmtpConfig
from compiler.durations import parse_duration
from compiler.graph import format_duration
from compiler.ir import Journey
from devstack.binaries import test_server
from devstack.sms_api import SmsApiServer
from devstack.smtp_sink import SmtpSink
from engine import consent as consent_actions
from engine.enrol import enrol
from engine.events import publish
from engine.history_scan import PersonalData, personal_data_in
from tracking.tokens import DEV_KEY, TokenSigner
from workflows.run_types import QUERY_STATE, RunResult

_EVENT = re.compile(r"^(?P<type>[a-z][a-z0-9_.-]*)(?:@(?P<step>[a-z0-9][a-z0-9-]*))?(?:\+(?P<delay>\S+))?$")


class SimulationError(ValueError):
    """A bad contact or event given to a simulation."""


@dataclass(frozen=True)
class SimEvent:
    type: str
    step: str | None = None  # the send step whose message the event is about
    delay_s: int = 0  # after that send (or after the start when `step` is None)
    data: dict[str, Any] = field(default_factory=dict)
    likely_bot: bool = False  # as the tracking server flags an instant or burst click

    @classmethod
    def parse(cls, spec: str) -> "SimEvent":
        """`TYPE[@STEP][+DELAY]`, e.g. `email.clicked@welcome+1h`, `purchase.completed+2d`."""
        m = _EVENT.match(spec.strip())
        if not m:
            raise SimulationError(f"bad event {spec!r}: expected TYPE[@STEP][+DELAY], e.g. email.clicked@welcome+1h")
        try:
            delay = parse_duration(m["delay"]) if m["delay"] else 0
        except ValueError as exc:
            raise SimulationError(f"bad event {spec!r}: {exc}") from None
        return cls(type=m["type"], step=m["step"], delay_s=delay)


@dataclass
class TimelineEntry:
    at_s: float  # seconds of simulated time since the run started
    step: str
    type: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    subject: str = ""


@dataclass(frozen=True)
class HorizonStop:
    """Why a simulation ended a run that was still waiting: its next wake-up lies beyond the horizon."""

    horizon_s: int
    step: str | None  # the step the run waits in
    until: str | None  # when that wait ends (RFC 3339); None: nothing would ever wake it
    start: str  # the run's start (RFC 3339), to say how long a horizon would reach `until`

    def needed_days(self) -> int | None:
        """The smallest whole-day horizon that reaches the end of the wait."""
        if self.until is None:
            return None
        span = datetime.fromisoformat(self.until) - datetime.fromisoformat(self.start)
        return span.days + 1

    def describe(self) -> str:
        """`stopped at the 400-day horizon: step webinar-day waits until 2030-03-01 09:00 UTC`."""
        days, rest = divmod(self.horizon_s, 86400)
        horizon = f"{days}-day" if not rest else format_duration(self.horizon_s)
        where = f"step {self.step}" if self.step else "the run"
        if self.until is None:
            return f"stopped: {where} waits for something no --event delivers"
        until = datetime.fromisoformat(self.until).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"stopped at the {horizon} horizon: {where} waits until {until}"


@dataclass
class SimulationResult:
    result: RunResult
    timeline: list[TimelineEntry]
    emails: list[EmailMessage]
    sms: list[dict[str, Any]]
    delivered_events: list[tuple[float, str]]
    undelivered_events: list[SimEvent]
    stopped: HorizonStop | None = None  # set when the run was still waiting at the horizon


_RELATIVE = re.compile(r"^now(?:(?P<sign>[+-])(?P<delta>\S+))?$")


def _relative_times(attributes: dict[str, Any], now: datetime | None) -> dict[str, Any]:
    """`now+10d` attribute values become absolute simulated times (scenarios stay valid forever)."""
    out = dict(attributes)
    for name, value in attributes.items():
        m = _RELATIVE.match(value) if isinstance(value, str) and now is not None else None
        if m:
            try:
                delta = timedelta(seconds=parse_duration(m["delta"])) if m["delta"] else timedelta(0)
            except ValueError as exc:
                raise SimulationError(f"attribute {name}: {exc}") from None
            out[name] = (now - delta if m["sign"] == "-" else now + delta).isoformat()
    return out


def _thresholds() -> tuple[int, int]:
    """The scoring model's temperature thresholds (journeys/scoring.yaml), as the worker uses."""
    from marketing.hooks import temperature_thresholds

    return temperature_thresholds()


def format_offset(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"+{d}d{h:02d}:{m:02d}" if d else f"+{h:02d}:{m:02d}:{s:02d}"


class Simulation:
    """`async with Simulation() as sim: out = await sim.run(journey, contact_spec, events)`."""

    def __init__(self, *, workdir: str | Path | None = None, converter: Callable[[Any], Any] | None = None,
                 strict_history: bool = True) -> None:
        """`converter(store)`: the client's DataConverter (e.g. codec.data_converter), default Temporal's.
        `strict_history`: at exit, every run's history is scanned for the personal data of the
        contacts this simulation created; found data raises (tests) or is kept in
        `history_findings` (the CLI reports it)."""
        self._converter = converter
        self._stack = AsyncExitStack()
        self.strict_history = strict_history
        self.person = PersonalData()
        self.started: list[str] = []
        self.history_findings: list[str] = []
        self._workdir = workdir
        self.env: WorkflowEnvironment | None = None
        self.store: Any = None
        self.smtp: SmtpSink | None = None
        self.sms: SmsApiServer | None = None
        self.deps: Deps | None = None
        self.task_queue = f"simulate-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> "Simulation":
        from store import Store
        from worker import create_worker

        timing.STEP_CLOCK_ONLY = True  # activities judge by the simulated clock
        stack = self._stack
        folder = self._workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="nurture-sim-"))
        self.store = Store.open(f"sqlite:///{Path(folder) / 'simulation.db'}")
        stack.callback(self.store.close)
        self.smtp = stack.enter_context(SmtpSink())
        self.sms = stack.enter_context(SmsApiServer())
        self.env = await stack.enter_async_context(
            await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=test_server(),
                **({"data_converter": self._converter(self.store)} if self._converter else {}),
            )
        )
        self.deps = Deps(
            store=self.store,
            signer=TokenSigner([DEV_KEY]),
            smtp=SmtpConfig(port=self.smtp.port),
            sms=SmsConfig(base_url=self.sms.url, account_sid=self.sms.state.account_sid, auth_token=self.sms.state.auth_token),
            tracking_url="http://127.0.0.1:8000",
            teams={"sales": ["sales@nurture.local"]},
            temperature_thresholds=_thresholds(),
        )
        await stack.enter_async_context(create_worker(self.env.client, self.deps, task_queue=self.task_queue))
        return self

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if self.env is not None:
                await self._scan_histories()
        finally:
            await self._stack.aclose()
        if self.history_findings and self.strict_history and exc_type is None:
            raise SimulationError("personal data in workflow histories: " + "; ".join(self.history_findings))

    async def _scan_histories(self) -> None:
        """No email, phone or name of a simulated contact may be in any history."""
        assert self.env is not None
        for workflow_id in dict.fromkeys(self.started):
            history = await self.env.client.get_workflow_handle(workflow_id).fetch_history()
            found = personal_data_in(history, self.person)
            if found:
                self.history_findings.append(f"{workflow_id}: {', '.join(found)}")

    # ------------------------------------------------------------ contacts

    def create_contact(self, spec: dict[str, Any], now: datetime | None = None) -> int:
        """A contact from the `--contact` shape (see `contact_from_spec`), its personal data noted
        for the history scan."""
        if isinstance(spec, dict):
            self.person.add(email=spec.get("email"), phone=spec.get("phone"),
                            names=(spec.get("first_name"), spec.get("last_name")))
        return contact_from_spec(self.store, spec, now)

    # ------------------------------------------------------------ running

    async def start(self, journey: Journey, contact_id: int, *, key: str | None = None) -> WorkflowHandle:
        assert self.env is not None
        self.store.save_journey_version(journey.id, journey.version, journey.to_dict())
        started = await enrol(self.env.client, self.store, journey, contact_id, key=key, task_queue=self.task_queue)
        if started.status != "started":
            raise SimulationError(f"could not start: {started.status} {started.reason}")
        self.started.append(started.workflow_id)
        return self.env.client.get_workflow_handle(started.workflow_id, result_type=RunResult)

    async def run(
        self,
        journey: Journey,
        contact: dict[str, Any] | int,
        events: list[SimEvent] | None = None,
        *,
        horizon: timedelta = timedelta(days=400),
    ) -> SimulationResult:
        """Run one contact through `journey`, delivering `events` on time, until the run ends."""
        assert self.env is not None and self.smtp is not None and self.sms is not None
        clock = await self.env.get_current_time()
        contact_id = contact if isinstance(contact, int) else self.create_contact(contact, clock)
        for ev in events or []:
            if ev.step is not None and not any(s.id == ev.step for s in journey.steps):
                raise SimulationError(f'event {ev.type}@{ev.step}: journey "{journey.id}" has no step "{ev.step}"')
        mail_before, sms_before = len(self.smtp.messages), len(self.sms.messages)
        start = await self.env.get_current_time()
        handle = await self.start(journey, contact_id)
        pending = list(events or [])
        delivered: list[tuple[float, str]] = []
        stopped: HorizonStop | None = None
        while True:
            if await self._finished(handle):
                break
            state = await handle.query(QUERY_STATE)
            now = await self.env.get_current_time()
            due, later = self._due(pending, state, start, now)
            for ev, message_id in due:
                pending.remove(ev)
                await self._deliver(contact_id, ev, message_id)
                delivered.append(((now - start).total_seconds(), ev.type))
            if due:
                continue
            if not state.get("waiting"):
                await asyncio.sleep(0.005)  # an activity is running in real time
                continue
            targets = list(later)
            if state.get("waiting_until"):
                targets.append(datetime.fromisoformat(state["waiting_until"]))
            if not targets or (min(targets) - start) > horizon:
                stopped = HorizonStop(horizon_s=int(horizon.total_seconds()), step=state.get("step"),
                                      until=state.get("waiting_until"), start=start.isoformat())
                await handle.terminate("simulation: nothing left to happen before the horizon")
                break
            await self.env.sleep(max((min(targets) - now).total_seconds(), 0) + 0.001)
        if stopped is not None:  # the result is the state it was stopped in, not the termination
            result = RunResult(outcome="stopped", reason="horizon", steps=sum(state.get("visits", {}).values()),
                               trail=state.get("trail", []))
        else:
            result = await self._result(handle)
        emails = self.smtp.messages[mail_before:]
        return SimulationResult(
            result=result,
            timeline=self._timeline(result, start, emails),
            emails=emails,
            sms=self.sms.messages[sms_before:],
            delivered_events=delivered,
            undelivered_events=pending,
            stopped=stopped,
        )

    async def _finished(self, handle: WorkflowHandle) -> bool:
        desc = await handle.describe()
        return desc.status is not None and desc.status.name != "RUNNING"

    async def _result(self, handle: WorkflowHandle) -> RunResult:
        try:
            return await handle.result()
        except Exception as exc:  # failed or ended from outside: rebuild from the last state
            try:
                state = await handle.query(QUERY_STATE)
            except Exception:
                state = {}
            return RunResult(outcome="stopped", reason=type(exc).__name__, steps=0, trail=state.get("trail", []))

    @staticmethod
    def _due(pending: list[SimEvent], state: dict[str, Any], start: datetime, now: datetime):
        """Split pending events into (due now: [(event, message id)], later: [times])."""
        sent = {}
        for entry in state.get("trail", []):
            if entry.get("outcome") == "sent":
                sent[entry["step"]] = (datetime.fromisoformat(entry["at"]), entry.get("message_id"))
        due, later = [], []
        for ev in pending:
            if ev.step is None:
                at, message_id = start + timedelta(seconds=ev.delay_s), None
            elif ev.step in sent:
                base, message_id = sent[ev.step]
                at = base + timedelta(seconds=ev.delay_s)
            else:
                continue  # its message has not gone (yet)
            if at <= now:
                due.append((ev, message_id))
            else:
                later.append(at)
        return due, later

    async def _deliver(self, contact_id: int, ev: SimEvent, message_id: str | None) -> None:
        """The same path as the tracking server and the events API."""
        assert self.env is not None
        if ev.type == "email.unsubscribed":
            consent_actions.withdraw(self.store, contact_id, "email", "marketing", source="simulation")
        elif ev.type == "sms.replied" and str(ev.data.get("body", "STOP")).strip().upper() == "STOP":
            contact = self.store.get_contact(contact_id)
            consent_actions.stop_sms(self.store, contact_id, contact.phone or "", source="simulation")
        elif ev.type == "consent.confirmed":
            consent_actions.confirm(self.store, contact_id, "email", "marketing", source="simulation")
        changed = ev.type in ("email.unsubscribed", "sms.replied", "consent.confirmed")
        await publish(self.env.client, self.store, contact_id, ev.type, data=ev.data, message_id=message_id,
                      likely_bot=ev.likely_bot, deps=self.deps, task_queue=self.task_queue)
        if changed:
            from engine.events import profile_changed

            await profile_changed(self.env.client, self.store, contact_id, "consent")

    @staticmethod
    def _timeline(result: RunResult, start: datetime, emails: list[EmailMessage]) -> list[TimelineEntry]:
        subjects = {str(m["Message-ID"]).strip(): str(m["Subject"]) for m in emails}
        out = []
        for entry in result.trail:
            detail = {k: v for k, v in entry.items() if k not in ("at", "step", "type", "outcome")}
            out.append(
                TimelineEntry(
                    at_s=(datetime.fromisoformat(entry["at"]) - start).total_seconds(),
                    step=entry["step"],
                    type=entry["type"],
                    outcome=entry["outcome"],
                    detail=detail,
                    subject=subjects.get(str(detail.get("message_id", "")), ""),
                )
            )
        return out


def contact_from_spec(store: Any, spec: dict[str, Any], now: datetime | None = None) -> int:
    """A contact in `store` from the `--contact` shape: email, phone, timezone, locale, first_name,
    stage, score, tags, attributes, consent {channel: [purposes]} (or confirmed_consent).
    An attribute written `now+10d` / `now-2h` becomes that simulated time (RFC 3339).
    Also used by `cli.py preview` and `send-test` for a contact given as JSON."""
    if not isinstance(spec, dict):
        raise SimulationError("the contact must be a JSON object")
    known = {"email", "phone", "timezone", "locale", "first_name", "last_name", "external_id", "stage",
             "score", "scores", "tags", "attributes", "consent", "confirmed_consent"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise SimulationError(f"unknown contact field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    contact_id = store.create_contact(
        email=spec.get("email"), phone=spec.get("phone"), timezone=spec.get("timezone"),
        locale=spec.get("locale"), first_name=spec.get("first_name"), last_name=spec.get("last_name"),
        external_id=spec.get("external_id"), stage=spec.get("stage"),
        attributes=_relative_times(spec.get("attributes") or {}, now), tags=spec.get("tags") or [],
    )
    if spec.get("score"):
        store.add_score(contact_id, int(spec["score"]), reason="simulation")
    for level, points in (spec.get("scores") or {}).items():
        store.add_score(contact_id, int(points), level=level, reason="simulation")
    for status, key in (("granted", "consent"), ("confirmed", "confirmed_consent")):
        for channel, purposes in (spec.get(key) or {}).items():
            for purpose in purposes:
                store.record_consent(contact_id, channel, purpose, status, source="simulation")
    return contact_id
