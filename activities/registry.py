"""The activities a worker serves, bound to one set of dependencies.

Thin wrappers: each names its activity (see activities.contracts) and delegates to
the module that holds the behaviour. Synchronous store work runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from activities import email, outbound, profile, sms
from activities.deps import Deps

T = TypeVar("T")
log = logging.getLogger(__name__)


HEARTBEAT_EVERY_S = 5.0


async def heartbeating(work: Awaitable[T]) -> T:
    """Heartbeat while an effect runs, so that a worker that dies mid-send is noticed within the
    heartbeat timeout (workflows/run.py) instead of the whole start-to-close timeout."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    beating = asyncio.create_task(beat())
    try:
        return await guarded(work)
    finally:
        beating.cancel()


async def guarded(work: Awaitable[T]) -> T:
    """Failure messages are stored in the run's history, where no personal data may go: an
    unexpected error leaves the worker as its type only (retried as usual); the full text,
    which may name an address, stays in the worker's log."""
    try:
        return await work
    except ApplicationError:
        raise  # ours: codes only
    except Exception as exc:
        log.exception("activity %s failed", activity.info().activity_type)
        raise ApplicationError(f"{type(exc).__name__} (details in the worker log)", type=type(exc).__name__) from None


class JourneyActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @activity.defn(name=c.READ_PROFILE)
    async def read_profile(self, request: c.ProfileInput | int) -> dict[str, Any]:
        return await guarded(asyncio.to_thread(profile.read_profile, self.deps, request))

    @activity.defn(name=c.PLAN_WAIT)
    async def plan_wait(self, inp: c.PlanWaitInput) -> c.PlanWaitResult:
        return await guarded(asyncio.to_thread(profile.plan_wait, self.deps, inp))

    @activity.defn(name=c.UPDATE_PROFILE)
    async def update_profile(self, inp: c.UpdateInput) -> dict[str, Any]:
        return await heartbeating(asyncio.to_thread(profile.update_profile, self.deps, inp))

    @activity.defn(name=c.RECORD_OUTCOME)
    async def record_outcome(self, inp: c.OutcomeInput) -> None:
        await guarded(asyncio.to_thread(profile.record_outcome, self.deps, inp))

    @activity.defn(name=c.SEND_EMAIL)
    async def send_email(self, inp: c.SendInput) -> c.SendResult:
        return await heartbeating(email.send_email(self.deps, inp))

    @activity.defn(name=c.SEND_SMS)
    async def send_sms(self, inp: c.SendInput) -> c.SendResult:
        return await heartbeating(sms.send_sms(self.deps, inp))

    @activity.defn(name=c.NOTIFY)
    async def notify(self, inp: c.NotifyInput) -> c.SendResult:
        return await heartbeating(outbound.notify(self.deps, inp))

    @activity.defn(name=c.CALL_WEBHOOK)
    async def call_webhook(self, inp: c.WebhookInput) -> c.SendResult:
        return await heartbeating(outbound.call_webhook(self.deps, inp))

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.read_profile,
            self.plan_wait,
            self.update_profile,
            self.record_outcome,
            self.send_email,
            self.send_sms,
            self.notify,
            self.call_webhook,
        ]
