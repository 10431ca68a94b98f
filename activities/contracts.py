"""Inputs and results of the activities: the only data that crosses into Temporal.

Plain dataclasses, no I/O, so the workflow may import this module. Nothing here
holds personal data: contacts are ids, messages are Message-ID hashes, and
reasons are fixed codes (`no_consent`, `suppressed`, `quiet_hours`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# activity names, resolved at compile time of the worker (see worker.py)
READ_PROFILE = "read_profile"
PLAN_WAIT = "plan_wait"
SEND_EMAIL = "send_email"
SEND_SMS = "send_sms"
UPDATE_PROFILE = "update_profile"
NOTIFY = "notify"
CALL_WEBHOOK = "call_webhook"
RECORD_OUTCOME = "record_outcome"


@dataclass
class StepRef:
    """Which visit of which step of which run: the idempotency key of every effect."""

    journey_id: str
    version: str
    workflow_id: str
    run_id: str
    step_id: str
    visit: int
    contact_id: int
    at: str = ""  # workflow time when the step asked (RFC 3339); see activities.timing.step_now

    @property
    def key(self) -> str:
        return f"{self.workflow_id}/{self.run_id}/{self.step_id}/{self.visit}"


@dataclass
class SendInput:
    """send_email / send_sms. The template sources travel with the run's pinned version."""

    ref: StepRef
    template_name: str
    purpose: str
    templates: dict[str, dict[str, str]]  # "name" / "name.es" -> template fields
    quiet_hours: tuple[int, int] | None = None  # (from_min, to_min) in the contact's zone
    timezone: str = "UTC"  # the journey's fallback time zone
    frequency_cap: tuple[int, int] | None = None  # (max, per_seconds) for this channel
    parts: dict[str, str] = field(default_factory=dict)  # shared parts the templates use: "_layout.html" -> source
    # the run ends after this step: if the message goes out, its commit also records the run's
    # completion (activities.outcomes), one commit less per run than a record_outcome of its own
    finish: bool = False
    # the journey version's sender and Reply-To (compiler.sender); "": the worker's defaults
    sender: str = ""
    reply_to: str = ""


@dataclass
class SendResult:
    """`status` is sent | skipped | failed | postponed. `reason` is a code, never PII."""

    status: str
    reason: str = ""
    message_id: str = ""
    retry_at: str = ""  # RFC 3339, for postponed
    detail: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # the run's completion was recorded with the send (SendInput.finish)


@dataclass
class ProfileInput:
    """read_profile for a step that may use behavioural data under a profiling purpose."""

    ref: StepRef
    profiling: str  # the consent purpose (policy.consent.profiling)


@dataclass
class PlanWaitInput:
    contact_id: int
    now: str  # RFC 3339 (workflow time)
    timezone: str  # the journey's fallback time zone
    duration_s: int | None = None
    until: str | None = None
    until_attribute: str | None = None
    offset_s: int = 0
    window_days: tuple[int, ...] | None = None
    window_from_min: int = 0
    window_to_min: int = 24 * 60


@dataclass
class PlanWaitResult:
    """`wake_at` in RFC 3339 UTC, or empty with a reason when there is nothing to wait for."""

    wake_at: str = ""
    reason: str = ""


@dataclass
class UpdateInput:
    ref: StepRef
    stage: str | None = None
    score_add: int | None = None
    score_set: int | None = None
    tags_add: list[str] = field(default_factory=list)
    tags_remove: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class NotifyInput:
    ref: StepRef
    to: str  # a team name (resolved by configuration) or an internal address
    template_name: str
    templates: dict[str, dict[str, str]]
    parts: dict[str, str] = field(default_factory=dict)  # shared parts the templates use


@dataclass
class WebhookInput:
    ref: StepRef
    url: str
    method: str
    body: str | None
    purpose: str | None


@dataclass
class OutcomeInput:
    """A step outcome worth keeping for reports (split variant, exit reason, goal)."""

    ref: StepRef
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
