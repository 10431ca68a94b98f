"""Calendar arithmetic in the contact's time zone: quiet hours and send windows.

Pure functions over aware datetimes; used by activities (never by workflow code,
which gets the answers as recorded activity results).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _minutes(dt: datetime) -> int:
    return dt.hour * 60 + dt.minute


def _at(day: datetime, minute: int, tz: ZoneInfo) -> datetime:
    """The local wall-clock `minute` of `day`'s date (24:00 = next midnight)."""
    base = datetime.combine(day.date(), time(0), tzinfo=tz)
    return (base + timedelta(minutes=minute)).replace(tzinfo=None).replace(tzinfo=tz)


def in_quiet_hours(local: datetime, from_min: int, to_min: int) -> bool:
    m = _minutes(local)
    if from_min <= to_min:
        return from_min <= m < to_min
    return m >= from_min or m < to_min  # crosses midnight, e.g. 21:00-08:00


def end_of_quiet_hours(now: datetime, tz: ZoneInfo, from_min: int, to_min: int) -> datetime | None:
    """When a send that falls at `now` may go out: None if `now` is outside quiet hours."""
    local = now.astimezone(tz)
    if not in_quiet_hours(local, from_min, to_min):
        return None
    end = _at(local, to_min, tz)
    if end <= local:
        end = _at(local + timedelta(days=1), to_min, tz)
    return end.astimezone(timezone.utc)


def next_in_window(moment: datetime, tz: ZoneInfo, days: tuple[int, ...], from_min: int, to_min: int) -> datetime:
    """The first instant at or after `moment` inside the weekly window (local time)."""
    local = moment.astimezone(tz)
    days = days or ALL_DAYS
    for offset in range(0, 8):
        day = local + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        start, end = _at(day, from_min, tz), _at(day, to_min, tz)
        if offset == 0 and start <= local < end:
            return moment.astimezone(timezone.utc)
        if local < start:
            return start.astimezone(timezone.utc)
    raise ValueError("empty send window")


# Simulations run workflows on a skipped clock; their activities must judge by it alone.
STEP_CLOCK_ONLY = False


def step_now(at: str) -> datetime:
    """The time an activity judges by: the workflow's time for the step, or the wall clock if
    later (a retry hours after an outage). Under simulation (`STEP_CLOCK_ONLY`) the
    workflow's time alone, so quiet hours and caps behave as they would in production."""
    wall = datetime.now(timezone.utc)
    if not at:
        return wall
    return parse_time(at) if STEP_CLOCK_ONLY else max(parse_time(at), wall)


def parse_time(value: str) -> datetime:
    """RFC 3339 / ISO 8601 with a zone; a naive value is taken as UTC."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
