"""The send ledger: one row per (run, step, visit), so a send happens at most once.

`ledger_claim` relies on the unique key (INSERT ... ON CONFLICT DO NOTHING), never on a
read-then-write, so two concurrent claims of one key on either database yield one winner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, update

from store import schema
from store.base import StoreBase, check_aware, check_choice, check_text
from store.db import UTCDateTime, utcnow
from store.records import LedgerEntry, StoreError

lg = schema.send_ledger.c
STATUSES = ("claimed", "transmitting", "sent", "failed", "skipped", "uncertain")
PROBABLY_SENT = ("sent", "uncertain")  # stamped with sent_at; both count against frequency caps


class LedgerMixin(StoreBase):
    def ledger_claim(
        self, key: str, *, contact_id: int, journey_id: str, step_id: str, channel: str, message_id: str | None
    ) -> LedgerEntry:
        """Insert `key` as "claimed" if absent. The returned entry's `created` says whether this call won."""
        check_text("ledger key", key)
        now = utcnow()
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            stmt = self._insert(conn, schema.send_ledger).values(
                key=key, contact_id=contact_id, journey_id=journey_id, step_id=step_id, channel=channel,
                message_id=message_id, status="claimed", created_at=now, updated_at=now,
            ).on_conflict_do_nothing(index_elements=["key"])
            created = self._inserted(conn, stmt, lg.id)
            row = conn.execute(select(schema.send_ledger).where(lg.key == key)).one()
        return _entry(row, created)

    def ledger_set_status(self, key: str, status: str, detail: str | None = None, *, at: datetime | None = None) -> None:
        """Move the entry to `status` (with an optional detail). Sent/uncertain stamp sent_at once
        (at `at`, the step's time, when given: simulations run on a skipped clock)."""
        check_choice("status", status, STATUSES)
        now = check_aware("at", at) if at is not None else utcnow()
        values: dict[str, Any] = {"status": status, "detail": detail, "updated_at": now}
        if status in PROBABLY_SENT:
            values["sent_at"] = func.coalesce(lg.sent_at, literal(now, UTCDateTime()))
        with self._write() as conn:
            if conn.execute(update(schema.send_ledger).where(lg.key == key).values(**values)).rowcount != 1:
                raise StoreError(f"no ledger entry with key {key!r}")

    def ledger_get(self, key: str) -> LedgerEntry | None:
        with self._read() as conn:
            row = conn.execute(select(schema.send_ledger).where(lg.key == key)).first()
        return None if row is None else _entry(row, False)

    def count_sends(self, contact_id: int, channel: str, since: datetime) -> int:
        """Messages on `channel` with status "sent" whose send is at or after `since`."""
        with self._read() as conn:
            return int(conn.execute(
                select(func.count()).select_from(schema.send_ledger).where(
                    lg.contact_id == contact_id, lg.channel == channel, lg.status == "sent", lg.sent_at >= check_aware("since", since))
            ).scalar_one())

    def send_times(self, contact_id: int, channel: str, *, since: datetime) -> list[datetime]:
        """When each sent-or-uncertain message on `channel` went out, at or after `since`, oldest first."""
        with self._read() as conn:
            return list(conn.execute(
                select(lg.sent_at).where(
                    lg.contact_id == contact_id, lg.channel == channel,
                    lg.status.in_(PROBABLY_SENT), lg.sent_at >= check_aware("since", since),
                ).order_by(lg.sent_at)
            ).scalars())


def _entry(row: Any, created: bool) -> LedgerEntry:
    return LedgerEntry(
        key=row.key, contact_id=row.contact_id, journey_id=row.journey_id, step_id=row.step_id,
        channel=row.channel, message_id=row.message_id, status=row.status, detail=row.detail,
        created_at=row.created_at, updated_at=row.updated_at, sent_at=row.sent_at, created=created,
    )
