"""GDPR: export everything held about a contact; erase it, keeping only suppression hashes,
a tombstone row (id + erased_at) and one pseudonymous audit line."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from store import schema
from store.base import check_id
from store.db import utcnow
from store.ledger import LedgerMixin
from store.messages import MessagesMixin
from store.profile import ProfileMixin
from store.records import ContactNotFound
from store.scores import ScoresMixin
from store.events import EventsMixin
from store.suppression import SuppressionMixin

PERSONAL_FIELDS = ("external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "stage")
PHONE_SUPPRESSION_CHANNEL = "sms"
# ids only, kept after erasure: exactly-once keys, run ids (to cancel runs), the audit line
KEPT_TABLES = frozenset({"contacts", "send_ledger", "enrolments", "erasure_log"})


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes as ISO 8601 strings, containers walked."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _records(items: list[Any]) -> list[dict[str, Any]]:
    return [_plain(asdict(item)) for item in items]


class GdprMixin(ProfileMixin, ScoresMixin, EventsMixin, LedgerMixin, MessagesMixin, SuppressionMixin):
    def export_contact(self, contact_id: int) -> dict[str, Any]:
        """Everything held about the contact, JSON-ready (ISO timestamps)."""
        contact = self.get_contact(contact_id)
        if contact is None:
            raise ContactNotFound(f"no contact with id {contact_id}")
        lg = schema.send_ledger.c
        with self._read() as conn:
            sends = [dict(r._mapping) for r in conn.execute(
                select(lg.key, lg.journey_id, lg.step_id, lg.channel, lg.message_id, lg.status, lg.detail,
                       lg.created_at, lg.sent_at).where(lg.contact_id == contact_id).order_by(lg.created_at, lg.id))]
            en = schema.enrolments.c
            enrolments = [dict(r._mapping) for r in conn.execute(
                select(en.journey_id, en.key, en.workflow_id, en.run_id, en.started_at)
                .where(en.contact_id == contact_id).order_by(en.started_at, en.id))]
        return _plain({
            "contact": asdict(contact),
            "external_id_aliases": self.contact_aliases(contact_id),
            "anonymous_ids": self.anonymous_ids_of(contact_id),  # type: ignore[attr-defined]  # IngestMixin
            "scores": self.get_scores(contact_id),
            "score_history": _records(self.score_history(contact_id)),
            "stage_history": _records(self.stage_history(contact_id)),
            "consent_history": _records(self.consent_history(contact_id)),
            "consent_decisions": _records(self.consent_decisions(contact_id)),
            "events": _records(self.events_for(contact_id)),
            "messages": _records(self.messages_for(contact_id)),
            "sends": sends,
            "enrolments": enrolments,
        })

    def erase_contact(self, contact_id: int) -> dict[str, int]:
        """Erase the contact's personal data; return what was removed (row counts per kind).

        Its email and phone are suppressed first (reason "erased", keeping any earlier reason), so a
        re-import of the same address stays blocked. Erasing an erased contact does nothing.
        """
        check_id(contact_id)
        contact = self.get_contact(contact_id)
        if contact is None:
            raise ContactNotFound(f"no contact with id {contact_id}")
        if contact.erased_at is not None:
            return {}
        if contact.email:
            self.suppress("email", contact.email, reason="erased", source=f"erasure of contact {contact_id}")
        if contact.phone:
            self.suppress(PHONE_SUPPRESSION_CHANNEL, contact.phone, reason="erased",
                          source=f"erasure of contact {contact_id}")
        with self._write() as conn:
            now = utcnow()
            c = schema.contacts.c
            # erased_at first: the consent log's trigger allows deletes only for an erased contact
            done = conn.execute(update(schema.contacts).where(c.id == contact_id, c.erased_at.is_(None)).values(
                erased_at=now, updated_at=now, attributes={}, **{name: None for name in PERSONAL_FIELDS})).rowcount
            if done != 1:  # erased concurrently
                return {}
            summary = self._delete_personal_rows(conn, contact_id)
            conn.execute(schema.erasure_log.insert().values(contact_id=contact_id, erased_at=now, summary=summary))
        return summary

    def erasure_audit(self, contact_id: int) -> dict[str, Any] | None:
        """The audit line of the contact's erasure: {contact_id, erased_at, summary}, or None."""
        el = schema.erasure_log.c
        with self._read() as conn:
            row = conn.execute(select(el.contact_id, el.erased_at, el.summary).where(el.contact_id == contact_id)).first()
        return None if row is None else dict(row._mapping)

    @staticmethod
    def _delete_personal_rows(conn: Connection, contact_id: int) -> dict[str, int]:
        msgs = select(schema.messages.c.message_id).where(schema.messages.c.contact_id == contact_id)
        summary = {
            "message_links": conn.execute(
                delete(schema.message_links).where(schema.message_links.c.message_id.in_(msgs))).rowcount,
        }
        # every table keyed by contact is erased unless listed in KEPT_TABLES, so a table added
        # later is covered by default; children before parents (consent_decisions -> consent_events)
        for table in reversed(schema.metadata.sorted_tables):
            if "contact_id" in table.c and table.name not in KEPT_TABLES:
                summary[table.name] = conn.execute(delete(table).where(table.c.contact_id == contact_id)).rowcount
        # the ledger keeps its keys (exactly-once must hold for runs still being cancelled) but loses
        # its free-text detail, which may quote an address from an SMTP reply
        lg = schema.send_ledger.c
        summary["send_ledger_details_cleared"] = conn.execute(
            update(schema.send_ledger).where(lg.contact_id == contact_id, lg.detail.is_not(None)).values(detail=None)
        ).rowcount
        return summary
