"""Temporal's part of an explanation, read through the client (no workflow change, so runs in
flight replay as before): for every enrolment, its chain's histories (paginated, following
continue-as-new) and, for a run in flight, its `state` query, read as `cli.py status` reads it
(deploy.visibility). From them: the version it runs, timers with their until time (fired or
cancelled), the signals it received, the trail the interpreter keeps (branches with the case
taken, wait_for matched by which event or timed out, waits), the values a branch read (the
profile of the read_profile marker before it), and the current step and what it waits for."""

from __future__ import annotations

import ast
import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.api.enums.v1 import EventType

from compiler.ir import Branch, Journey
from deploy.visibility import QUERY_TIMEOUT, waiting_for, when
from explain.model import Explanation, Item, RunView
from explain.store_side import Versions, step_of
from workflows.run_types import QUERY_STATE

PARALLEL = 8  # runs read at once
PAGE_SIZE = 1000
E = EventType


@dataclass
class Chain:
    """What the histories of one workflow chain say."""

    version: str | None = None
    trail: list[dict[str, Any]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    profiles: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)  # (task time, profile read)
    closed: str | None = None  # completed | terminated | failed | ... ; None while running
    result: dict[str, Any] | None = None
    events_read: int = 0


def _time(event: Any) -> datetime:
    return event.event_time.ToDatetime().replace(tzinfo=timezone.utc)


async def _decode(client: Any, payloads: Any) -> list[Any]:
    if not payloads:
        return []
    try:
        return list(await client.data_converter.decode(list(payloads)))
    except Exception:  # a shredded (erased) or foreign payload: nothing to show
        return []


def _summary(event: Any) -> str:
    if event.HasField("user_metadata") and event.user_metadata.summary.data:
        try:
            return str(json.loads(event.user_metadata.summary.data))
        except ValueError:
            return ""
    return ""


async def read_chain(client: Any, run: RunView, journey_of: str) -> Chain:
    """Every history of the chain that starts with the enrolment's first run id, oldest first."""
    chain = Chain()
    run_id: str | None = run.run_id or None
    timers: dict[str, tuple[datetime, str]] = {}
    while True:
        handle = client.get_workflow_handle(run.workflow_id, run_id=run_id)
        next_run: str | None = None
        task_time: datetime | None = None
        async for event in handle.fetch_history_events(page_size=PAGE_SIZE):
            chain.events_read += 1
            at, kind = _time(event), event.event_type
            if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                inp = (await _decode(client, event.workflow_execution_started_event_attributes.input.payloads) or [{}])[0]
                if isinstance(inp, dict):
                    chain.version = (inp.get("journey") or {}).get("version") or chain.version
                    if not chain.trail:
                        chain.trail = list(inp.get("trail") or [])
            elif kind == E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                task_time = at
            elif kind == E.EVENT_TYPE_MARKER_RECORDED:
                await _marker(client, chain, event, task_time or at)
            elif kind == E.EVENT_TYPE_TIMER_STARTED:
                attrs = event.timer_started_event_attributes
                until = at + timedelta(seconds=attrs.start_to_fire_timeout.ToTimedelta().total_seconds())
                timers[attrs.timer_id] = (until, _summary(event))
                chain.items.append(Item(at, "wait", f"timer set until {when(until.isoformat())}"
                                        + (f" ({timers[attrs.timer_id][1]})" if timers[attrs.timer_id][1] else ""),
                                        journey_of, workflow_id=run.workflow_id, source="temporal",
                                        data={"timer": attrs.timer_id, "until": until.isoformat(),
                                              "summary": timers[attrs.timer_id][1]}))
            elif kind in (E.EVENT_TYPE_TIMER_FIRED, E.EVENT_TYPE_TIMER_CANCELED):
                fired = kind == E.EVENT_TYPE_TIMER_FIRED
                timer_id = (event.timer_fired_event_attributes if fired else event.timer_canceled_event_attributes).timer_id
                until, summary = timers.pop(timer_id, (None, ""))
                what = "timer fired" if fired else "timer cancelled (woken earlier)"
                chain.items.append(Item(at, "wait", what + (f" ({summary})" if summary else ""), journey_of,
                                        workflow_id=run.workflow_id, source="temporal",
                                        data={"timer": timer_id, "fired": fired}))
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                attrs = event.workflow_execution_signaled_event_attributes
                chain.items.append(_signal(at, attrs.signal_name, await _decode(client, attrs.input.payloads),
                                           journey_of, run.workflow_id))
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                next_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                result = (await _decode(client, event.workflow_execution_completed_event_attributes.result.payloads)
                          or [None])[0]
                chain.closed, chain.result = "completed", result if isinstance(result, dict) else None
                if chain.result and chain.result.get("trail"):
                    chain.trail = list(chain.result["trail"])
            elif kind in (E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                          E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED):
                chain.closed = E.Name(kind).removeprefix("EVENT_TYPE_WORKFLOW_EXECUTION_").lower()
                if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                    chain.result = {"reason": event.workflow_execution_terminated_event_attributes.reason}
        if next_run is None:
            return chain
        run_id = next_run


async def _marker(client: Any, chain: Chain, event: Any, task_time: datetime) -> None:
    """A local activity's marker: keep what read_profile returned (a branch's values)."""
    details = event.marker_recorded_event_attributes.details
    if "data" not in details or "result" not in details:
        return
    try:
        meta = json.loads(details["data"].payloads[0].data)
    except (ValueError, IndexError):
        return
    if meta.get("activity_type") != "read_profile":
        return
    profile = (await _decode(client, details["result"].payloads) or [None])[0]
    if isinstance(profile, dict):
        chain.profiles.append((task_time, profile))


def _signal(at: datetime, name: str, args: list[Any], journey: str, workflow_id: str) -> Item:
    arg = args[0] if args and isinstance(args[0], dict) else {}
    if name == "event":
        bot = " (likely bot: matches no wait)" if arg.get("likely_bot") else ""
        text = f"signal: event {arg.get('type')} (event {arg.get('event_id')}){bot}"
    elif name == "profile_changed":
        text = f"signal: profile changed ({arg.get('reason') or '?'})"
    else:
        text = f"signal: {name}"
    return Item(at, "signal", text, journey, workflow_id=workflow_id, message_id=arg.get("message_id"),
                source="temporal", data={"signal": name, **arg})


def condition_names(source: str) -> list[str]:
    """The profile fields a condition reads (`score >= 50 and "vip" in tags` -> score, tags)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return []
    return list(dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)))


def _trail_items(chain: Chain, journey: Journey | None, journey_id: str, workflow_id: str) -> list[Item]:
    """The interpreter's trail, for what the store does not hold: branches, waits, wait_for."""
    out = []
    for entry in chain.trail:
        at = datetime.fromisoformat(entry["at"])
        step, outcome = entry.get("step"), entry.get("outcome")
        kind, text, data = None, "", {"trail": entry}
        if entry.get("type") == "branch":
            kind = "branch"
            text, data = _branch_text(chain, journey, entry, at)
        elif entry.get("type") == "wait_for" and outcome == "event":
            kind, text = "wait", f"wait_for matched by {entry.get('event')}"
        elif entry.get("type") == "wait_for" and outcome == "timeout":
            kind, text = "wait", "wait_for timed out"
        elif entry.get("type") == "wait" and outcome in ("waited", "skipped"):
            kind = "wait"
            text = "waited" if outcome == "waited" else f"wait skipped ({entry.get('reason')})"
        if kind:
            out.append(Item(at, kind, text, journey_id, step, workflow_id, source="temporal", data=data))
    return out


def _branch_text(chain: Chain, journey: Journey | None, entry: dict[str, Any], at: datetime) -> tuple[str, dict]:
    step = None
    if journey is not None:
        try:
            step = journey.step(entry["step"])
        except KeyError:
            step = None
    profile = next((p for t, p in reversed(chain.profiles) if t <= at), None)
    taken = entry.get("next") or "end"
    if not isinstance(step, Branch):
        return f"branch -> {taken}", {"next": taken}
    if entry.get("outcome") == "case":
        case = step.cases[int(entry.get("case", 1)) - 1]
        condition, verdict = case.when, "true"
    else:
        condition, verdict = " / ".join(c.when for c in step.cases), "false (default)"
    values = {n: profile.get(n) for n in condition_names(condition) if profile is not None and n in profile}
    read = ", ".join(f"{k}={v!r}" for k, v in values.items())
    return (f"branch: {condition} is {verdict}" + (f" ({read})" if read else "") + f" -> {taken}",
            {"condition": condition, "result": verdict, "values": values, "next": taken})


async def _state(client: Any, workflow_id: str) -> dict[str, Any] | None:
    try:
        return await client.get_workflow_handle(workflow_id).query(QUERY_STATE, rpc_timeout=QUERY_TIMEOUT)
    except Exception:  # no worker, or closed meanwhile
        return None


async def _one(client: Any, ex: Explanation, run: RunView, versions: Versions) -> int:
    chain = await read_chain(client, run, run.journey)
    if chain.version and chain.version != run.version:
        for item in ex.items:  # the store guessed the version deployed at the start; history knows
            if item.kind == "entered" and item.workflow_id == run.workflow_id:
                item.text = item.text.replace(f"(version {run.version})", f"(version {chain.version})")
                item.data["version"] = chain.version
        run.version = chain.version
    journey = versions.get(run.journey, run.version)
    if chain.closed is None:
        state = await _state(client, run.workflow_id)
        run.status = "running"
        if state is None:
            run.waiting = "why unknown: no worker answered the state query"
        else:
            run.step = state.get("step")
            chain.trail += [t for t in state.get("trail", []) if t not in chain.trail]
            step = step_of(journey, run.step)
            if step is not None:
                run.waiting = waiting_for(step, state)
            if state.get("waiting_until"):
                run.until = datetime.fromisoformat(state["waiting_until"])
    else:
        run.status = "finished"
        result = chain.result or {}
        run.outcome = result.get("outcome") or run.outcome or chain.closed
        run.reason = result.get("reason")
    ex.items += chain.items + _trail_items(chain, journey, run.journey, run.workflow_id)
    return chain.events_read


async def temporal_side(client: Any, ex: Explanation, versions: Versions) -> None:
    """Fill in runs' state and the Temporal items; a run whose history cannot be read gets a note."""
    gate = asyncio.Semaphore(PARALLEL)

    async def guarded(run: RunView) -> int:
        async with gate:
            try:
                return await _one(client, ex, run, versions)
            except Exception as exc:  # unknown to this server (retention), or the server went away
                ex.notes.append(f"{run.workflow_id}: history not read ({type(exc).__name__}: {str(exc)[:120]})")
                return 0

    counts = await asyncio.gather(*(guarded(r) for r in ex.runs))
    ex.timings["history_events"] = float(sum(counts))
