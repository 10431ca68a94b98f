"""Normalising contact addresses: one form per address, so lookups and suppression hashes match."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from store.records import StoreError

EMAIL_CHANNELS = ("email",)
PHONE_CHANNELS = ("sms", "voice", "whatsapp")


def normalise_email(address: str) -> str:
    """Syntax-checked (no DNS), trimmed and lower-cased."""
    if not isinstance(address, str) or not address.strip():
        raise StoreError(f"email must be a non-empty string, got {address!r}")
    try:
        valid = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise StoreError(f"invalid email {address!r}: {exc}") from None
    return valid.normalized.lower()


def normalise_phone(number: str, region: str | None = None) -> str:
    """E.164 (+CCNNN...). Without a leading + a default `region` (e.g. "ES") is needed."""
    if not isinstance(number, str) or not number.strip():
        raise StoreError(f"phone must be a non-empty string, got {number!r}")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        hint = "" if number.strip().startswith("+") or region else " (use the international form, +CC...)"
        raise StoreError(f"invalid phone number {number!r}{hint}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise StoreError(f"invalid phone number {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_address(channel: str, address: str) -> str:
    """The canonical form of `address` on `channel` (email: lower-case; phone channels: E.164)."""
    if channel in EMAIL_CHANNELS:
        return normalise_email(address)
    if channel in PHONE_CHANNELS:
        return normalise_phone(address)
    known = ", ".join(EMAIL_CHANNELS + PHONE_CHANNELS)
    raise StoreError(f"unknown channel {channel!r} for an address (known: {known})")


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise StoreError(f"unknown time zone {name!r} (use an IANA name such as Europe/Madrid)") from None
    return name
