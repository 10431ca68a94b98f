"""The explanation of one contact: a timeline of decisions, its runs, the journeys it is not in.
Plain data; `render.to_json` is the documented, stable shape (docs/explain.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON_VERSION = 1


@dataclass
class Item:
    """One decision or fact about the contact, at one time."""

    at: datetime
    kind: str  # see docs/explain.md: entered, sent, skipped, postponed, event, score, ...
    text: str
    journey: str | None = None
    step: str | None = None
    workflow_id: str | None = None
    message_id: str | None = None
    source: str = "store"  # store | temporal
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunView:
    """One enrolment (a workflow chain) and what Temporal says of it."""

    journey: str
    workflow_id: str
    run_id: str
    started_at: datetime
    version: str | None = None
    trigger: str = ""
    status: str = "unknown"  # running | finished | unknown
    step: str | None = None
    waiting: str = ""  # what it waits for ("quiet hours", "timer", "wait_for email.clicked")
    until: datetime | None = None
    outcome: str | None = None
    reason: str | None = None


@dataclass
class NotIn:
    """A deployed journey the contact is not in, and why."""

    journey: str
    reasons: list[dict[str, Any]] = field(default_factory=list)  # {code, text, data?}


@dataclass
class Explanation:
    contact_id: int
    timezone: str
    items: list[Item] = field(default_factory=list)
    runs: list[RunView] = field(default_factory=list)
    not_in: list[NotIn] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read (Temporal down, ...)
    timings: dict[str, float] = field(default_factory=dict)  # store_s, temporal_s
    message: dict[str, Any] | None = None  # --message: the one message's details

    def sorted_items(self) -> list[Item]:
        return sorted(self.items, key=lambda i: i.at)
