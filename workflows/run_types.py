"""What goes into, comes out of, and is signalled to a journey run. Ids and codes only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WORKFLOW_NAME = "JourneyWorkflow"
SIGNAL_EVENT = "event"
SIGNAL_PROFILE_CHANGED = "profile_changed"
SIGNAL_MIGRATE = "migrate"
QUERY_STATE = "state"


def workflow_id_for(journey_id: str, contact_id: int, key: str | None = None) -> str:
    """One run per contact per journey (per entry key, e.g. one per cart)."""
    base = f"journey/{journey_id}/{contact_id}"
    return f"{base}/{key}" if key else base


# How runs behave where the workflow code changed its commands: set when a run starts (or
# continues as new), so a run in flight keeps what it started with and replays; a check of
# `RunInput.revision` costs no history event (`workflow.patched` records a marker in every run).
#   1: a wait read the profile first when it had not been read yet (one local activity)
#   2: a wait reads the profile only when a profile change arrived since it was last read
REVISION = 2


@dataclass
class RunInput:
    journey: dict[str, Any]  # compiler.ir.Journey.to_dict(): the pinned version
    contact_id: int
    key: str | None = None
    search_attributes: bool = False  # upsert Step/Stage/Score (they must be registered)
    revision: int = 1  # see REVISION; runs started before the field existed are 1
    # set by continue-as-new and by migration:
    start_step: str | None = None
    visits: dict[str, int] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)  # step id -> last Message-ID
    trail: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class JourneyEvent:
    """An event about the contact, as signalled to its runs (see store.events for the data)."""

    type: str
    message_id: str | None = None  # the message the event is about (opens, clicks)
    event_id: int | None = None
    likely_bot: bool = False


@dataclass
class ProfileChanged:
    reason: str = ""  # stage | score | tags | consent | attributes


@dataclass
class MigrateRequest:
    journey: dict[str, Any]  # the new version's IR; the run continues at its current step id


@dataclass
class RunResult:
    outcome: str  # completed | exited | goal
    reason: str
    steps: int
    trail: list[dict[str, Any]] = field(default_factory=list)

TASK_QUEUE = "nurture"
