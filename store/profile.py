"""The contact's profile as journeys see it (no personal data), and the template context."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store import schema
from store.consent import GRANTING, ConsentMixin
from store.contacts import ContactsMixin
from store.scores import GLOBAL
from store.records import StoreError


def temperature(score: int, thresholds: tuple[int, int]) -> str:
    """cold below thresholds[0], hot from thresholds[1], warm in between."""
    warm, hot = thresholds
    if warm > hot:
        raise StoreError(f"temperature thresholds must be ascending, got {thresholds!r}")
    return "hot" if score >= hot else "warm" if score >= warm else "cold"


class ProfileMixin(ContactsMixin, ConsentMixin):
    def read_profile(self, contact_id: int, *, thresholds: tuple[int, int] = (40, 70)) -> dict[str, Any]:
        """The shape documented in compiler/conditions.py plus locale, timezone and consent_purposes.

        Ids and profile only: this travels as a Temporal activity result, so no email, phone or name.
        """
        with self._read() as conn:
            contact = self._contact_or_raise(conn, contact_id)
            sc = schema.scores.c
            scores = {lvl: int(p) for lvl, p in conn.execute(
                select(sc.level, sc.points).where(sc.contact_id == contact_id).order_by(sc.level))}
            states = self._consent_states(conn, contact_id)
        score = scores.get(GLOBAL, 0)
        purposes = {ch: {p: st.status for p, st in sorted(by.items())} for ch, by in sorted(states.items())}
        return {
            "score": score,
            "scores": scores,
            "temperature": temperature(score, thresholds),
            "stage": contact.stage or "",
            "tags": list(contact.tags),
            "attributes": dict(contact.attributes),
            "consent": {ch: any(status in GRANTING for status in by.values()) for ch, by in purposes.items()},
            "consent_purposes": purposes,
            "locale": contact.locale or "",
            "timezone": contact.timezone or "",
        }

    def template_context(self, contact_id: int, *, thresholds: tuple[int, int] = (40, 70)) -> dict[str, Any]:
        """What templates see: `contact` (with personal fields) and the profile keys at top level.

        Stays inside the activity that renders: never return it to a workflow.
        """
        profile = self.read_profile(contact_id, thresholds=thresholds)
        contact = self.get_contact(contact_id)
        assert contact is not None  # read_profile raised otherwise
        person = {
            name: getattr(contact, name)
            for name in ("id", "external_id", "email", "phone", "first_name", "last_name", "locale", "timezone")
        }
        return {"contact": person, **profile}
