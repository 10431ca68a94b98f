"""Wrapped data keys of the payload codec (codec/): one per contact, plus one for payloads
that belong to no contact. Only wrapped (encrypted) keys are stored; the key-encryption key
stays outside the database (NURTURE_CODEC_KEY).

Erasing a contact deletes its row with the rest of its data (store.gdpr erases every table
with a contact_id), which makes that contact's encrypted Temporal payloads unreadable.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Column, ForeignKey, LargeBinary, Table, select

from store import schema
from store.base import StoreBase, check_id
from store.db import Id, UTCDateTime, utcnow

codec_keys = Table(
    "codec_keys",
    schema.metadata,
    Column("contact_id", Id, ForeignKey("contacts.id"), primary_key=True, autoincrement=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
SYSTEM_SETTING = "codec_system_key"
ck = codec_keys.c


def create_codec_keys_table(conn: Any) -> None:
    """Migration step (no-op where step 1 already made it)."""
    codec_keys.create(conn, checkfirst=True)


class CodecKeysMixin(StoreBase):
    def codec_key(self, contact_id: int | None) -> bytes | None:
        """The wrapped key of a contact (None: the system key), or None if there is none."""
        with self._read() as conn:
            if contact_id is None:
                value = conn.execute(select(schema.settings.c.value).where(schema.settings.c.name == SYSTEM_SETTING)).scalar()
                return base64.b64decode(value) if value else None
            return conn.execute(select(ck.wrapped).where(ck.contact_id == check_id(contact_id))).scalar()

    def add_codec_key(self, contact_id: int | None, wrapped: bytes) -> bytes | None:
        """Keep `wrapped` unless a key exists already; return the key now on record. None when
        the contact is unknown or erased (its payloads are then sealed with the system key)."""
        with self._write() as conn:
            if contact_id is None:
                stmt = self._insert(conn, schema.settings).values(name=SYSTEM_SETTING, value=base64.b64encode(wrapped).decode())
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
            else:
                c = schema.contacts.c
                erased = conn.execute(select(c.erased_at).where(c.id == check_id(contact_id))).first()
                if erased is None or erased[0] is not None:
                    return None
                stmt = self._insert(conn, codec_keys).values(contact_id=contact_id, wrapped=wrapped, created_at=utcnow())
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["contact_id"]))
        return self.codec_key(contact_id)
