"""The frozen records the store returns, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class StoreError(ValueError):
    """A request the store refuses (bad input, unknown contact...); the message says why in plain words."""


class ContactNotFound(StoreError, LookupError):
    """No such contact, or it has been erased."""


@dataclass(frozen=True)
class Contact:
    id: int
    external_id: str | None
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    locale: str | None
    timezone: str | None
    stage: str | None
    attributes: dict[str, Any]
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = None


@dataclass(frozen=True)
class ScoreChange:
    id: int
    level: str
    delta: int
    value: int
    reason: str
    at: datetime


@dataclass(frozen=True)
class StageChange:
    id: int
    from_stage: str | None
    to_stage: str | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class ConsentEvent:
    id: int
    contact_id: int
    channel: str
    purpose: str
    status: str
    source: str
    wording_version: str | None
    ip: str | None
    user_agent: str | None
    evidence: Any
    at: datetime


@dataclass(frozen=True)
class ConsentState:
    """The latest consent event for one (contact, channel, purpose)."""

    status: str
    event_id: int
    at: datetime
    source: str
    wording_version: str | None = None


@dataclass(frozen=True)
class ConsentDecision:
    id: int
    contact_id: int
    workflow_id: str | None
    run_id: str | None
    step_id: str | None
    channel: str
    purpose: str
    granted: bool
    basis: str
    consent_event_id: int | None
    at: datetime


@dataclass(frozen=True)
class Event:
    id: int
    contact_id: int
    type: str
    journey_id: str | None
    step_id: str | None
    message_id: str | None
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    contact_id: int
    journey_id: str
    step_id: str
    channel: str
    message_id: str | None
    status: str
    detail: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    created: bool = False  # True only for the ledger_claim call that inserted the row


@dataclass(frozen=True)
class Message:
    message_id: str
    contact_id: int
    journey_id: str
    step_id: str
    channel: str
    links: list[str]
    created_at: datetime


@dataclass(frozen=True)
class JourneyState:
    journey_id: str
    active_version: str | None
    state: str
    updated_at: datetime


@dataclass(frozen=True)
class JourneyVersion:
    journey_id: str
    version: str
    deployed_at: datetime
    ir: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Enrolment:
    id: int
    journey_id: str
    contact_id: int
    key: str | None
    workflow_id: str
    run_id: str | None
    started_at: datetime
