"""What the Segment-compatible tracking API (tracking/segment_api.py) keeps besides events:

- `ingest_messages`: the message ids already processed, per sender key (a fingerprint of the
  write key or bearer token, never the key itself), so a retried call is recorded once;
- `anonymous_ids`: a browser's or app's anonymousId -> the contact it belongs to;
- `anonymous_profiles`: the contacts that are anonymous (no identifier yet). An anonymous
  profile is an ordinary contact row, so events, scores, rules and segments need no special
  case; identify/alias merges it into the known contact (its events move, its row becomes a
  tombstone) and `purge_anonymous` erases the ones never identified.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Column, ForeignKey, Index, String, Table, UniqueConstraint, delete, select, update

from store import schema
from store.base import BATCH, StoreBase, check_aware, check_text
from store.db import Id, UTCDateTime, utcnow
from store.records import StoreError

ingest_messages = Table(
    "ingest_messages",
    schema.metadata,
    Column("key_id", String(64), nullable=False),  # store.ingest.key_fingerprint of the sender's key
    Column("message_id", String(300), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("key_id", "message_id", name="uq_ingest_messages"),
    Index("ix_ingest_messages_received", "received_at"),
)

anonymous_ids = Table(
    "anonymous_ids",
    schema.metadata,
    Column("anonymous_id", String(200), primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_anonymous_ids_contact", "contact_id"),
)

anonymous_profiles = Table(
    "anonymous_profiles",
    schema.metadata,
    Column("contact_id", Id, ForeignKey("contacts.id"), primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_anonymous_profiles_seen", "last_seen_at"),
)

INGEST_TABLES = (ingest_messages, anonymous_ids, anonymous_profiles)
MAX_MESSAGE_ID = 300
MAX_ANONYMOUS_ID = 200
c = schema.contacts.c
ai = anonymous_ids.c
ap = anonymous_profiles.c
im = ingest_messages.c


# the message id the next record_event in this task claims in its own transaction (see `claiming`)
_claim: ContextVar[list[str] | None] = ContextVar("ingest_claim", default=None)


class AlreadyProcessed(StoreError):
    """The message id was processed before for this sender key: nothing was stored."""


def take_claim(store: Any, conn: Connection, at: datetime) -> None:
    """Inside record_event's transaction: claim the pending message id, if any (once); raise
    AlreadyProcessed, rolling the event back, when it was claimed before."""
    pending = _claim.get()
    if not pending:
        return
    key_id, message_id = pending
    pending.clear()  # the hooks' own events (rule.fired, ...) claim nothing
    stmt = store._insert(conn, ingest_messages).values(key_id=key_id, message_id=message_id, received_at=at)
    if not store._inserted(conn, stmt.on_conflict_do_nothing(index_elements=["key_id", "message_id"]), im.message_id):
        raise AlreadyProcessed(f"message {message_id!r} was processed before")


def create_ingest_tables(conn: Any) -> None:
    """Migration step: the tables above (no-op where step 1 already made them)."""
    for table in INGEST_TABLES:
        table.create(conn, checkfirst=True)


class IngestMixin(StoreBase):
    # -- message ids ---------------------------------------------------------------------------

    @contextmanager
    def claiming(self, key_id: str, message_id: str) -> Iterator[None]:
        """The first record_event inside claims `message_id` for `key_id` in the event's own
        transaction (AlreadyProcessed if it was claimed before), so an event and its message id
        are stored together or not at all, whatever runs around it (engine.events.publish)."""
        check_text("key id", key_id)
        check_text("message id", message_id)
        token = _claim.set([key_id, message_id])
        try:
            yield
        finally:
            _claim.reset(token)

    def claim_message(self, key_id: str, message_id: str, at: datetime | None = None) -> bool:
        """Record that the sender `key_id` sent `message_id`; False if it was recorded before.
        Call it in the `transaction()` that stores what the message brings, so both or neither."""
        check_text("key id", key_id)
        check_text("message id", message_id)
        if len(message_id) > MAX_MESSAGE_ID:
            raise StoreError(f"message id longer than {MAX_MESSAGE_ID} characters")
        with self._write() as conn:
            stmt = self._insert(conn, ingest_messages).values(key_id=key_id, message_id=message_id,
                                                              received_at=self._when(at))
            return self._inserted(conn, stmt.on_conflict_do_nothing(index_elements=["key_id", "message_id"]),
                                  im.message_id)

    def claimed_messages(self, key_id: str, message_ids: list[str]) -> set[str]:
        """Those of `message_ids` the sender `key_id` sent before (one query per BATCH)."""
        found: set[str] = set()
        with self._read() as conn:
            for i in range(0, len(message_ids), BATCH):
                found.update(conn.execute(select(im.message_id).where(
                    im.key_id == key_id, im.message_id.in_(message_ids[i:i + BATCH]))).scalars())
        return found

    def forget_messages(self, before: datetime) -> int:
        """Drop message ids received before `before` (a retry older than that is recorded again)."""
        with self._write() as conn:
            return conn.execute(delete(ingest_messages).where(im.received_at < check_aware("before", before))).rowcount

    # -- anonymous profiles --------------------------------------------------------------------

    def contact_id_by_external_id(self, external_id: str) -> int | None:
        """The live contact whose external id, current or earlier (alias), is `external_id`: the
        one-lookup form of find_contact(external_id=...) for the ingestion path."""
        al = schema.contact_aliases.c
        with self._read() as conn:
            found = conn.execute(select(c.id).where(c.external_id == external_id, c.erased_at.is_(None))).scalar()
            if found is None:
                found = conn.execute(select(c.id).join(schema.contact_aliases, al.contact_id == c.id)
                                     .where(al.external_id == external_id, c.erased_at.is_(None))
                                     .order_by(c.id).limit(1)).scalar()
        return None if found is None else int(found)

    def contact_of_anonymous_id(self, anonymous_id: str) -> int | None:
        """The live contact `anonymous_id` belongs to (anonymous or known), or None."""
        with self._read() as conn:
            return conn.execute(select(ai.contact_id).join(schema.contacts, c.id == ai.contact_id)
                                .where(ai.anonymous_id == anonymous_id, c.erased_at.is_(None))).scalar_one_or_none()

    def anonymous_ids_of(self, contact_id: int) -> list[str]:
        with self._read() as conn:
            return sorted(conn.execute(select(ai.anonymous_id).where(ai.contact_id == contact_id)).scalars())

    def is_anonymous(self, contact_id: int) -> bool:
        """True for an anonymous profile (a contact no identify has named yet)."""
        with self._read() as conn:
            return conn.execute(select(ap.contact_id).where(ap.contact_id == contact_id)).first() is not None

    def create_anonymous(self, anonymous_id: str, at: datetime | None = None) -> int:
        """The contact of `anonymous_id`, created as an anonymous profile if it has none (a
        concurrent creation of the same id leaves one profile: the first)."""
        anonymous_id = _check_anonymous_id(anonymous_id)
        with self._write() as conn:
            found = conn.execute(select(ai.contact_id).where(ai.anonymous_id == anonymous_id)).scalar_one_or_none()
            if found is not None:
                return int(found)
            now, seen = utcnow(), self._when(at)
            contact_id = int(conn.execute(schema.contacts.insert().values(
                attributes={}, created_at=now, updated_at=now)).inserted_primary_key[0])
            stmt = self._insert(conn, anonymous_ids).values(anonymous_id=anonymous_id, contact_id=contact_id,
                                                            created_at=now)
            if not self._inserted(conn, stmt.on_conflict_do_nothing(index_elements=["anonymous_id"]), ai.contact_id):
                conn.execute(delete(schema.contacts).where(c.id == contact_id))
                return int(conn.execute(select(ai.contact_id).where(ai.anonymous_id == anonymous_id)).scalar_one())
            conn.execute(anonymous_profiles.insert().values(contact_id=contact_id, created_at=now, last_seen_at=seen))
            return contact_id

    def link_anonymous_id(self, anonymous_id: str, contact_id: int) -> bool:
        """Tie a new `anonymous_id` to `contact_id`; False if it already belongs to a contact."""
        anonymous_id = _check_anonymous_id(anonymous_id)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            stmt = self._insert(conn, anonymous_ids).values(anonymous_id=anonymous_id, contact_id=contact_id,
                                                            created_at=utcnow())
            return self._inserted(conn, stmt.on_conflict_do_nothing(index_elements=["anonymous_id"]), ai.contact_id)

    def seen_anonymous(self, contact_id: int, at: datetime | None = None) -> None:
        """An anonymous profile was active at `at` (its purge clock restarts, never goes back)."""
        seen = self._when(at)
        with self._write() as conn:
            conn.execute(update(anonymous_profiles).where(ap.contact_id == contact_id, ap.last_seen_at < seen)
                         .values(last_seen_at=seen))

    def promote_anonymous(self, contact_id: int) -> bool:
        """The anonymous profile became a known contact (identify named it); False if it was not anonymous."""
        with self._write() as conn:
            return conn.execute(delete(anonymous_profiles).where(ap.contact_id == contact_id)).rowcount == 1

    def merge_anonymous(self, anonymous_contact: int, into: int) -> dict[str, int]:
        """Move the anonymous profile's history into the known contact `into`: its events, anonymous
        ids, tags and the attributes `into` lacks; the profile becomes a tombstone (its scores,
        segment membership and the rest deleted, as an erasure does) with an audit line. The
        caller recomputes `into`'s scores (marketing.scoring.rebuild). StoreError if
        `anonymous_contact` is not an anonymous profile (a merge happens once)."""
        if anonymous_contact == into:
            raise StoreError("cannot merge a contact into itself")
        ev, tg = schema.events.c, schema.contact_tags.c
        with self._write() as conn:
            self._require_contact(conn, into)
            self._require_contact(conn, anonymous_contact)
            if conn.execute(select(ap.contact_id).where(ap.contact_id == anonymous_contact)).first() is None:
                raise StoreError(f"contact {anonymous_contact} is not an anonymous profile")
            moved = {
                "events": conn.execute(update(schema.events).where(ev.contact_id == anonymous_contact)
                                       .values(contact_id=into)).rowcount,
                "anonymous_ids": conn.execute(update(anonymous_ids).where(ai.contact_id == anonymous_contact)
                                              .values(contact_id=into)).rowcount,
            }
            tags = list(conn.execute(select(tg.tag).where(tg.contact_id == anonymous_contact)).scalars())
            self._insert_tags(conn, into, tags)  # type: ignore[attr-defined]  # ContactsMixin
            theirs = conn.execute(select(c.attributes).where(c.id == anonymous_contact)).scalar_one() or {}
            if theirs:
                ours = dict(conn.execute(select(c.attributes).where(c.id == into)).scalar_one() or {})
                conn.execute(update(schema.contacts).where(c.id == into)
                             .values(attributes={**theirs, **ours}, updated_at=utcnow()))
            now = utcnow()
            conn.execute(update(schema.contacts).where(c.id == anonymous_contact)
                         .values(erased_at=now, updated_at=now, attributes={}))
            summary = self._delete_personal_rows(conn, anonymous_contact)  # type: ignore[attr-defined]  # GdprMixin
            conn.execute(schema.erasure_log.insert().values(
                contact_id=anonymous_contact, erased_at=now, summary={**summary, "merged_into": into, **moved}))
        return moved

    def stale_anonymous(self, seen_before: datetime) -> list[int]:
        """Anonymous profiles last active before `seen_before`, ascending."""
        with self._read() as conn:
            return list(conn.execute(select(ap.contact_id).where(ap.last_seen_at < check_aware("seen_before", seen_before))
                                     .order_by(ap.contact_id)).scalars())

    def purge_anonymous(self, seen_before: datetime) -> int:
        """Erase every anonymous profile last active before `seen_before` (events, anonymous ids,
        scores: all of it, as `erase_contact` does); how many were erased."""
        erased = 0
        for contact_id in self.stale_anonymous(seen_before):
            with self.transaction():
                if self.is_anonymous(contact_id):  # not identified meanwhile
                    erased += bool(self.erase_contact(contact_id))  # type: ignore[attr-defined]  # GdprMixin
        return erased


def _check_anonymous_id(value: Any) -> str:
    check_text("anonymous id", value)
    if len(value) > MAX_ANONYMOUS_ID:
        raise StoreError(f"anonymous id longer than {MAX_ANONYMOUS_ID} characters")
    return value

