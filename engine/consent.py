"""Consent changes that come from the person (unsubscribe link, one-click header,
preference page, SMS STOP/START, double opt-in confirmation). One path for the
tracking server, the CLI and simulations."""

from __future__ import annotations

from typing import Any


def withdraw(store, contact_id: int, channel: str, purpose: str, *, source: str, evidence: str | None = None,
             ip: str | None = None, user_agent: str | None = None, wording_version: str | None = None) -> int:
    """Withdraw consent now (append-only log); the next send is refused."""
    return store.record_consent(contact_id, channel, purpose, "withdrawn", source=source, evidence=evidence,
                                ip=ip, user_agent=user_agent, wording_version=wording_version)


def grant(store, contact_id: int, channel: str, purpose: str, *, source: str, evidence: str | None = None,
          ip: str | None = None, user_agent: str | None = None, wording_version: str | None = None) -> int:
    """Consent given by the person (preference page, SMS START), with the wording version they saw."""
    return store.record_consent(contact_id, channel, purpose, "granted", source=source, evidence=evidence,
                                ip=ip, user_agent=user_agent, wording_version=wording_version)


def confirm(store, contact_id: int, channel: str, purpose: str, *, source: str, evidence: str | None = None,
            ip: str | None = None, user_agent: str | None = None, wording_version: str | None = None) -> int:
    """Double opt-in confirmed: consent becomes `confirmed`."""
    return store.record_consent(contact_id, channel, purpose, "confirmed", source=source, evidence=evidence,
                                ip=ip, user_agent=user_agent, wording_version=wording_version)


def stop_sms(store, contact_id: int, phone: str, *, source: str, evidence: str | None = None) -> None:
    """An SMS STOP reply: withdraw every SMS purpose and suppress the number."""
    for purpose in sorted(_purposes(store, contact_id, "sms")) or ["marketing"]:
        withdraw(store, contact_id, "sms", purpose, source=source, evidence=evidence)
    store.suppress("sms", phone, reason="stop", source=source)


def start_sms(store, contact_id: int, phone: str, *, source: str, wording_version: str | None = None) -> None:
    """An SMS START reply: marketing consent again and the STOP suppression lifted (nothing else)."""
    grant(store, contact_id, "sms", "marketing", source=source, wording_version=wording_version)
    store.lift_suppression("sms", phone, only_reason="stop")


def _purposes(store, contact_id: int, channel: str) -> set[str]:
    summary: dict[str, Any] = store.read_profile(contact_id).get("consent_purposes", {})
    return set((summary.get(channel) or {}).keys())
