"""Suppression: per channel, a keyed hash (HMAC-SHA256) of the normalised address.

Only the hash is kept, so suppression survives erasure and still blocks a re-import of the
same address. The key comes from NURTURE_SUPPRESSION_KEY, else one generated and kept in the
`settings` table on first open (changing the key later orphans the existing hashes).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from typing import Any

from sqlalchemy import Column, Connection, String, Table, select

from store import schema
from store.addresses import normalise_address
from store.base import StoreBase, check_choice, check_text
from store.db import UTCDateTime, utcnow

REASONS = ("hard_bounce", "complaint", "unsubscribe", "stop", "dnc", "manual", "erased", "soft_bounces")
KEY_ENV = "NURTURE_SUPPRESSION_KEY"
KEY_SETTING = "suppression_key"
sp = schema.suppression.c

# Bounce and complaint reports already acted on (marketing/bounces.py), by a key that holds no
# personal data: a provider's event id or a hash of the report. Webhooks retry, MTAs resend.
feedback_reports = Table(
    "feedback_reports",
    schema.metadata,
    Column("key", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
fr = feedback_reports.c


def create_feedback_reports_table(conn: Any) -> None:
    """Migration step (no-op where step 1 already made it)."""
    feedback_reports.create(conn, checkfirst=True)


def load_suppression_key(conn: Connection, insert: object) -> bytes:
    """The env key, else the stored one, created race-safely on first use."""
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        return env_key.encode()
    st = schema.settings.c
    conn.execute(insert.values(name=KEY_SETTING, value=secrets.token_hex(32)).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=["name"]))
    return conn.execute(select(st.value).where(st.name == KEY_SETTING)).scalar_one().encode()


class SuppressionMixin(StoreBase):
    _suppression_key: bytes

    @staticmethod
    def normalise_address(channel: str, address: str) -> str:
        return normalise_address(channel, address)

    def address_hash(self, channel: str, address: str, *, normalised: bool = False) -> str:
        """Hex HMAC-SHA256 of "channel:normalised address" (`normalised=True`: already normalised, skip that)."""
        message = f"{channel}:{address if normalised else normalise_address(channel, address)}".encode()
        return hmac.new(self._suppression_key, message, hashlib.sha256).hexdigest()

    def suppress(self, channel: str, address: str, *, reason: str, source: str) -> None:
        """Suppress `address` on `channel`. Idempotent: the first reason and source are kept."""
        check_choice("reason", reason, REASONS)
        check_text("source", source)
        digest = self.address_hash(channel, address)
        with self._write() as conn:
            stmt = self._insert(conn, schema.suppression).values(
                channel=channel, address_hash=digest, reason=reason, source=source, at=utcnow())
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["channel", "address_hash"]))

    def claim_feedback_report(self, key: str, kind: str) -> bool:
        """Record a bounce/complaint report as handled; False when it was already (a retry).
        Inside `transaction()` it commits or rolls back with what the report changed."""
        check_text("report key", key)
        with self._write() as conn:
            stmt = self._insert(conn, feedback_reports).values(key=key[:200], kind=kind, at=utcnow())
            return self._inserted(conn, stmt.on_conflict_do_nothing(index_elements=["key"]), fr.key)

    def feedback_report_seen(self, key: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(fr.key).where(fr.key == key[:200])).first() is not None

    def lift_suppression(self, channel: str, address: str, *, only_reason: str) -> bool:
        """Lift a suppression the person themselves can undo (an SMS STOP undone by START).
        Only an entry with `only_reason` goes; bounces, complaints and do-not-contact stay."""
        check_choice("reason", only_reason, REASONS)
        digest = self.address_hash(channel, address)
        with self._write() as conn:
            deleted = conn.execute(schema.suppression.delete().where(
                sp.channel == channel, sp.address_hash == digest, sp.reason == only_reason))
            return deleted.rowcount == 1

    def suppression_reason(self, channel: str, address: str) -> str | None:
        """Why `address` is suppressed on `channel`, or None if it is not."""
        digest = self.address_hash(channel, address)
        with self._read() as conn:
            return conn.execute(
                select(sp.reason).where(sp.channel == channel, sp.address_hash == digest)
            ).scalar_one_or_none()
