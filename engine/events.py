"""One path for every event about a contact (HTTP API, CLI, tracking server, simulation):
store it, let the marketing model react (scores, stages, rules), then tell the
contact's running journeys and start the journeys this event enters."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable

from temporalio.client import Client
from temporalio.service import RPCError

from compiler.ir import Journey
from engine.enrol import EnrolResult, enrol
from engine.event_time import check_event_time, is_backfill, utcnow
from workflows.run_types import SIGNAL_EVENT, SIGNAL_PROFILE_CHANGED, JourneyEvent, ProfileChanged

log = logging.getLogger(__name__)

SCORE_CHANGED = "score.changed"  # emitted by publish after any event changed the score
BACKFILLED = "backfilled"  # set in the data of an event stored with a time older than BACKFILL_AFTER



@dataclass(frozen=True)
class PublishContext:
    """What a follow-up knows about the publish call that runs it."""

    event_id: int
    event_type: str
    data: dict[str, Any]
    task_queue: str | None = None
    journeys: dict[str, Journey] | None = None
    search_attributes: bool = False
    deps: Any = None  # activities.deps.Deps of the calling process, if it has one (SMTP, teams)


# A hook may return, next to the aspects it changed, follow-ups: actions that need Temporal or
# the network (enrol, notify, webhook). publish awaits them, in order, after every hook has run:
# follow_up(client, store, contact_id, context) -> the profile aspects they changed.
FollowUp = Callable[[Client, Any, int, PublishContext], Awaitable[list[str]]]

# Reactions to a stored event, added by the marketing model (scoring, stages, rules):
# hook(store, contact_id, event_type, data, event_id) -> the profile aspects it changed ("score",
# "stage", ...) and any follow-ups; `event_id` is the row publish just stored (its id, not "the
# latest event of that type": two events of one type may be published for a contact at once)
EventHook = Callable[[Any, int, str, dict[str, Any], int], list["str | FollowUp"]]
EVENT_HOOKS: list[EventHook] = []
# Who installs them: a worker/server/CLI that loaded the config calls e.g.
# marketing.hooks.install_hooks(...). A process that publishes first gets the defaults: once,
# `ensure_hooks` calls install_default() of each module below (it loads journeys/*.yaml and
# does nothing if its hooks were installed already). An explicit list, no discovery.
DEFAULT_HOOK_MODULES: list[str] = ["marketing.hooks", "marketing.rules"]
_defaults_done = False


def ensure_hooks() -> None:
    """Install the default hooks once per process (see DEFAULT_HOOK_MODULES)."""
    global _defaults_done
    if not _defaults_done:
        _defaults_done = True
        for name in DEFAULT_HOOK_MODULES:
            importlib.import_module(name).install_default()


@dataclass
class Published:
    event_id: int
    signalled: int = 0
    changed: list[str] = field(default_factory=list)
    enrolled: list[EnrolResult] = field(default_factory=list)
    backfilled: bool = False  # older than event_time.BACKFILL_AFTER: recorded and scored, acted on by nothing


async def publish(
    client: Client,
    store,
    contact_id: int,
    event_type: str,
    *,
    data: dict[str, Any] | None = None,
    message_id: str | None = None,
    likely_bot: bool = False,
    journeys: dict[str, Journey] | None = None,
    task_queue: str | None = None,
    search_attributes: bool = False,
    deps: Any = None,
    journey_id: str | None = None,
    step_id: str | None = None,
    at: datetime | None = None,
) -> Published:
    """`journey_id`/`step_id`: the step that learned of the event (a bounce), if any.

    `at`: when the event happened, if not now (EventTimeError, nothing stored, for a time in the
    future or without a zone). A backfilled event (engine.event_time) is stored with its time
    and `data.backfilled`, and the hooks run (scores, stages, rules' tag/stage/score actions:
    the contact's history explains its profile), but it acts on nothing now: the rules'
    follow-ups (enrol, notify, webhook, score.crossed) are dropped and the score changes marked
    seen, no `score.changed` is published, running runs get no `event` signal (only
    `profile_changed` for what changed) and no event-entry journey starts.
    """
    now = utcnow()
    at = None if at is None else check_event_time(at, now)
    backfilled = is_backfill(at, now)
    data = dict(data or {})
    if likely_bot:
        data["likely_bot"] = True
    if backfilled:
        data[BACKFILLED] = True
    event_id = store.record_event(contact_id, event_type, data=data, message_id=message_id,
                                  journey_id=journey_id, step_id=step_id, at=at)
    result = Published(event_id=event_id, backfilled=backfilled)
    ensure_hooks()
    follow_ups: list[FollowUp] = []
    for hook in EVENT_HOOKS:
        for item in hook(store, contact_id, event_type, data, event_id):
            (result.changed.append if isinstance(item, str) else follow_ups.append)(item)
    if backfilled:
        if follow_ups:
            log.info("backfilled event %s: %d rule follow-up(s) not run", event_id, len(follow_ups))
        store.take_score_changes(contact_id, level=None)  # history crosses no threshold now
        await _signal_runs(client, store, contact_id, None, result)
        return result
    context = PublishContext(event_id, event_type, data, task_queue, journeys, search_attributes, deps)
    for follow_up in follow_ups:
        result.changed.extend(await follow_up(client, store, contact_id, context))
    if "score" in result.changed and event_type != SCORE_CHANGED:
        # journeys and rules may enter on the score itself (e.g. sales hand-off)
        score = store.read_profile(contact_id)["score"]
        inner = await publish(client, store, contact_id, SCORE_CHANGED, data={"score": score, "cause": event_id},
                              journeys=journeys, task_queue=task_queue, search_attributes=search_attributes,
                              deps=deps)
        result.enrolled.extend(inner.enrolled)
    signal = JourneyEvent(type=event_type, message_id=message_id, event_id=event_id, likely_bot=likely_bot)
    await _signal_runs(client, store, contact_id, signal, result)
    for journey in (journeys or {}).values():
        if journey.entry.kind == "event" and journey.entry.event == event_type and not likely_bot:
            key = str(data.get(journey.entry.key)) if journey.entry.key and data.get(journey.entry.key) else None
            kwargs = {"task_queue": task_queue} if task_queue else {}
            result.enrolled.append(
                await enrol(client, store, journey, contact_id, key=key, event=signal,
                            search_attributes=search_attributes, **kwargs)
            )
    return result


async def _signal_runs(client: Client, store, contact_id: int, signal: JourneyEvent | None, result: Published) -> None:
    """Send the contact's running runs `signal` (if any) and a `profile_changed` per aspect changed."""
    reasons = sorted(set(result.changed))
    if signal is None and not reasons:
        return
    for workflow_id in store.running_workflow_ids(contact_id):
        handle = client.get_workflow_handle(workflow_id)
        try:
            if signal is not None:
                await handle.signal(SIGNAL_EVENT, signal)
            for reason in reasons:
                await handle.signal(SIGNAL_PROFILE_CHANGED, ProfileChanged(reason=reason))
            result.signalled += 1
        except RPCError as exc:  # finished since: nothing to tell
            log.debug("signal to %s not delivered: %s", workflow_id, exc.message)


async def profile_changed(client: Client, store, contact_id: int, reason: str) -> int:
    """Tell the contact's running journeys that the profile changed (goal, consent)."""
    told = 0
    for workflow_id in store.running_workflow_ids(contact_id):
        try:
            await client.get_workflow_handle(workflow_id).signal(SIGNAL_PROFILE_CHANGED, ProfileChanged(reason=reason))
            told += 1
        except RPCError:
            pass
    return told
