"""Start a contact's run of a journey, honouring the journey's entry and re-entry rules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from compiler.ir import Journey
from workflows.run_types import REVISION, SIGNAL_EVENT, TASK_QUEUE, WORKFLOW_NAME, JourneyEvent, RunInput, workflow_id_for

JOURNEY_KEY = SearchAttributeKey.for_keyword("Journey")
VERSION_KEY = SearchAttributeKey.for_keyword("JourneyVersion")
CONTACT_KEY = SearchAttributeKey.for_keyword("ContactId")

# name -> Temporal type; registered by `cli.py apply` / `cli.py dev`
SEARCH_ATTRIBUTES = {
    "Journey": "Keyword",
    "JourneyVersion": "Keyword",
    "ContactId": "Keyword",
    "Step": "Keyword",
    "Stage": "Keyword",
    "Score": "Int",
}


@dataclass(frozen=True)
class EnrolResult:
    status: str  # started | already_running | refused | signalled
    workflow_id: str
    reason: str = ""


def reentry_refusal(journey: Journey, last_started: datetime | None, now: datetime) -> str:
    """Why the re-entry rule refuses a new run ("" if it allows one)."""
    if last_started is None:
        return ""
    rule = journey.entry.reentry
    if rule == "always":
        return ""
    if rule == "after" and journey.entry.reentry_after_s is not None:
        if now - last_started >= timedelta(seconds=journey.entry.reentry_after_s):
            return ""
        return "reentry_after"
    return "reentry_never"


async def enrol(
    client: Client,
    store,
    journey: Journey,
    contact_id: int,
    *,
    key: str | None = None,
    event: JourneyEvent | None = None,
    task_queue: str = TASK_QUEUE,
    search_attributes: bool = False,
) -> EnrolResult:
    """Start `journey` for the contact. With `event`, signal-with-start: a run that is
    already going receives the event instead."""
    # store calls run in threads: many starts stay in flight on one event loop
    state, last, memo = await asyncio.to_thread(_journey_and_last, store, journey.id, contact_id, key)
    result, enrolment = await start_run(client, journey, contact_id, state=state, last=last, key=key, event=event,
                                        task_queue=task_queue, search_attributes=search_attributes, memo=memo)
    if enrolment is not None:
        await asyncio.to_thread(lambda: store.record_enrolment(**enrolment))
    return result


async def start_run(
    client: Client,
    journey: Journey,
    contact_id: int,
    *,
    state: Any,
    last: Any,
    key: str | None = None,
    event: JourneyEvent | None = None,
    task_queue: str = TASK_QUEUE,
    search_attributes: bool = False,
    memo: dict[str, Any] | None = None,
) -> tuple[EnrolResult, dict[str, Any] | None]:
    """`enrol` without the store: the journey's deployment `state` and the contact's `last`
    enrolment are read by the caller (bulk enrolment reads them per batch). Returns the result
    and, for a new run, the enrolment row to record (`store.record_enrolment(**row)`).
    `memo`: the live deployment (`store.live_memo()`), shown by the Temporal UI with the run."""
    workflow_id = workflow_id_for(journey.id, contact_id, key)
    if state is not None and state.state in ("draining", "removed"):
        return EnrolResult("refused", workflow_id, f"journey_{state.state}"), None
    now = datetime.now(timezone.utc)
    refusal = reentry_refusal(journey, last.started_at if last else None, now)
    if refusal and event is None:
        return EnrolResult("refused", workflow_id, refusal), None
    attrs = None
    if search_attributes:
        attrs = TypedSearchAttributes(
            [
                SearchAttributePair(JOURNEY_KEY, journey.id),
                SearchAttributePair(VERSION_KEY, journey.version),
                SearchAttributePair(CONTACT_KEY, str(contact_id)),
            ]
        )
    inp = RunInput(journey=_ir(journey), contact_id=contact_id, key=key, search_attributes=search_attributes,
                   revision=REVISION)
    options = dict(
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        search_attributes=attrs,
        static_summary=f"{journey.id} @ {journey.version} for contact {contact_id}",
        memo=memo,
    )
    try:
        if event is not None:
            if refusal:  # only deliver to a running run; never start a new one
                await client.get_workflow_handle(workflow_id).signal(SIGNAL_EVENT, event)
                return EnrolResult("signalled", workflow_id), None
            handle = await client.start_workflow(
                WORKFLOW_NAME, inp, start_signal=SIGNAL_EVENT, start_signal_args=[event], **options
            )
        else:
            handle = await client.start_workflow(WORKFLOW_NAME, inp, **options)
    except WorkflowAlreadyStartedError:
        return EnrolResult("already_running", workflow_id), None
    except Exception as exc:  # a signal to a run that has finished
        if event is not None and "not found" in str(exc).lower():
            return EnrolResult("refused", workflow_id, refusal or "not_running"), None
        raise
    if last is not None and last.run_id == handle.first_execution_run_id:
        return EnrolResult("signalled", workflow_id), None
    row = dict(journey_id=journey.id, contact_id=contact_id, key=key, workflow_id=workflow_id,
               run_id=handle.first_execution_run_id or handle.result_run_id or "", started_at=now)
    return EnrolResult("started", workflow_id), row


def _journey_and_last(store: Any, journey_id: str, contact_id: int, key: str | None) -> tuple[Any, Any, Any]:
    """The journey's deployment state, the contact's last enrolment and the live deployment's memo."""
    return store.get_journey_state(journey_id), store.last_enrolment(journey_id, contact_id, key), store.live_memo()


_IR_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def _ir(journey: Journey) -> dict[str, Any]:
    """The run input's IR, built once per version (a version's IR never changes)."""
    key = (journey.id, journey.version)
    if key not in _IR_CACHE:
        if len(_IR_CACHE) > 256:
            _IR_CACHE.clear()
        _IR_CACHE[key] = journey.to_dict()
    return _IR_CACHE[key]
