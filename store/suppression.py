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

from sqlalchemy import Connection, select

from store import schema
from store.addresses import normalise_address
from store.base import StoreBase, check_choice, check_text
from store.db import utcnow

REASONS = ("hard_bounce", "complaint", "unsubscribe", "stop", "dnc", "manual", "erased")
KEY_ENV = "NURTURE_SUPPRESSION_KEY"
KEY_SETTING = "suppression_key"
sp = schema.suppression.c


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
