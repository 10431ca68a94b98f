"""SMS text facts: E.164 numbers, GSM-7/UCS-2 segment counts, the time zone a number suggests."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as phone_timezone

# GSM 03.38 basic character set (0x1B, the escape to the extension table, is not a character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (escape + code).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7, UCS2 = "GSM-7", "UCS-2"
# (units in a single-part message, units per part of a concatenated message)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be turned into a valid E.164 number."""


@dataclass(frozen=True)
class SmsSegments:
    encoding: str  # "GSM-7" | "UCS-2"
    segments: int  # 0 for an empty body
    chars: int  # characters (code points) in the body
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def _parse(phone: str, default_region: str | None) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {phone!r} ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"not a valid phone number: {phone!r}")
    return number


def to_e164(phone: str, default_region: str | None = None) -> str:
    """`+34600111222` form. Numbers without `+` need `default_region` (e.g. "ES")."""
    return phonenumbers.format_number(_parse(phone, default_region), phonenumbers.PhoneNumberFormat.E164)


def region_timezone(phone: str, default_region: str | None = None) -> str | None:
    """The IANA time zone of the number's area when it names exactly one, else None."""
    zones = set(phone_timezone.time_zones_for_number(_parse(phone, default_region)))
    zones.discard(phone_timezone.UNKNOWN_TIMEZONE)
    return zones.pop() if len(zones) == 1 else None


def _units(body: str) -> tuple[str, list[int]]:
    """The encoding and the cost of each character in it."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        return GSM7, [2 if ch in GSM7_EXTENSION else 1 for ch in body]
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in body]  # astral: a surrogate pair


def _pack(costs: list[int], per_part: int) -> int:
    """Parts needed when no character may be split across parts (escapes, surrogate pairs)."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def segments(body: str) -> SmsSegments:
    encoding, costs = _units(body)
    total = sum(costs)
    single, multi = LIMITS[encoding]
    if not body:
        count = 0
    elif total <= single:
        count = 1
    else:
        count = _pack(costs, multi)
    return SmsSegments(encoding=encoding, segments=count, chars=len(body), units=total)
