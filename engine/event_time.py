"""An event's own time, as its sender gives it (`cli.py event --at`, the events API's `timestamp`),
and the line between a live event and a backfilled one.

- A time must carry its zone (`Z` or an offset): a naive time is refused, never guessed, as the
  store refuses naive datetimes (the sender's local time and UTC differ by up to 14 hours).
- A time more than MAX_CLOCK_SKEW after now is refused: events report what happened.
- A time before EARLIEST is refused (a zero date or a unit mistake, not history).
- An event more than BACKFILL_AFTER old when it arrives is *backfilled*: recorded with its time,
  scored and staged, but it acts on nothing now (engine.events.publish says how).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

MAX_CLOCK_SKEW = timedelta(minutes=5)
BACKFILL_AFTER = timedelta(hours=24)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
EXAMPLE = "2024-03-01T09:30:00Z"


class EventTimeError(ValueError):
    """A time an event cannot have; the message is one line, fit for a CLI or an HTTP answer."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_event_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 date-time with its zone, checked by `check_event_time`, in UTC."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EventTimeError(f"{text!r} is not an ISO 8601 date-time, e.g. {EXAMPLE}") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise EventTimeError(f"{text!r} has no time zone: add Z (UTC) or an offset such as +01:00, e.g. {EXAMPLE}")
    return check_event_time(at, now)


def check_event_time(at: datetime, now: datetime | None = None) -> datetime:
    """`at` in UTC, or EventTimeError when it is naive, in the future or before EARLIEST."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise EventTimeError(f"event time {at.isoformat()} has no time zone")
    at = at.astimezone(timezone.utc)
    now = now or utcnow()
    if at > now + MAX_CLOCK_SKEW:
        raise EventTimeError(f"event time {at.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')};"
                             f" clocks may differ by {int(MAX_CLOCK_SKEW.total_seconds() // 60)} minutes at most)")
    if at < EARLIEST:
        raise EventTimeError(f"event time {at.isoformat()} is before {EARLIEST.date().isoformat()}")
    return at


def is_backfill(at: datetime | None, now: datetime | None = None) -> bool:
    """True for an event that happened more than BACKFILL_AFTER before `now` (None: it is now)."""
    return at is not None and (now or utcnow()) - at > BACKFILL_AFTER
