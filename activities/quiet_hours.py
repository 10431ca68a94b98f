"""When a send may go out: the journey's quiet hours plus the channel's send window for the
contact's region (compiler.sending_model, journeys/sending.yaml), in the contact's local time.

A send that falls outside is postponed to the first instant allowed by both, never dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from activities.timing import end_of_quiet_hours, next_in_window
from compiler.sending_model import SendingRules, SendWindow, default_sending_rules

MAX_HOPS = 32  # alternating quiet hours and windows settle in a few hops unless they never meet


class NoSendWindow(ValueError):
    """The journey's quiet hours and the channel's window never leave a moment to send."""


def region_of(contact: Any, default_region: str | None = None) -> str | None:
    """ISO country code from the contact's phone number, else their `country` attribute."""
    phone = getattr(contact, "phone", None)
    if phone:
        import phonenumbers

        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, default_region))
        except phonenumbers.NumberParseException:
            region = None
        if region and region != "ZZ":
            return region
    country = (getattr(contact, "attributes", None) or {}).get("country")
    return country.upper() if isinstance(country, str) and len(country) == 2 else None


def _window_opens(at: datetime, tz: ZoneInfo, window: SendWindow | None) -> datetime | None:
    if window is None:
        return None
    opens = next_in_window(at, tz, window.days, window.from_min, window.to_min)
    return None if opens == at else opens


def allowed_at(
    now: datetime, tz: ZoneInfo, quiet: tuple[int, int] | None, window: SendWindow | None
) -> tuple[datetime, str] | None:
    """None if a send may go at `now`; else (first allowed instant in UTC, reason code:
    `quiet_hours` or `send_window`, whichever held the send last)."""
    at, reason = now, ""
    for _ in range(MAX_HOPS):
        quiet_end = end_of_quiet_hours(at, tz, *quiet) if quiet else None
        opens = _window_opens(at, tz, window)
        if quiet_end is None and opens is None:
            return None if at == now else (at, reason)
        at, reason = max((t, r) for t, r in ((quiet_end, "quiet_hours"), (opens, "send_window")) if t is not None)
    raise NoSendWindow("the journey's quiet hours cover the whole send window")


def postpone_until(
    contact: Any,
    channel: str,
    now: datetime,
    tz: ZoneInfo,
    quiet: tuple[int, int] | None,
    rules: SendingRules | None = None,
    default_region: str | None = None,
) -> tuple[datetime, str] | None:
    """The gate's question: must this send wait, and until when? (see `allowed_at`)."""
    rules = rules if rules is not None else default_sending_rules()
    return allowed_at(now, tz, quiet, rules.window(channel, region_of(contact, default_region)))
