"""Step handlers: one short function per step type, found by the type's name.

A handler gets the run and its step and returns the id of the next step (None
ends the run), or raises `ExitRun`. Handlers are workflow code: deterministic.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from workflows.steps import flow, messaging, profile, waiting

Handler = Callable[[Any, Any], Awaitable[str | None]]

HANDLERS: dict[str, Handler] = {
    "send_email": messaging.send_email,
    "send_sms": messaging.send_sms,
    "notify": messaging.notify,
    "webhook": messaging.webhook,
    "wait": waiting.wait,
    "wait_for": waiting.wait_for,
    "branch": flow.branch,
    "split": flow.split,
    "exit": flow.exit_step,
    "set": profile.set_profile,
}
