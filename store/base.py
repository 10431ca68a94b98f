"""What every part of the store shares: the engine, transactions, and the contact check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from store import schema
from store.db import READ_ONLY, utcnow
from store.records import ContactNotFound, StoreError


# The connection of the `Store.transaction()` open in this thread / task, with its engine.
_open: ContextVar[tuple[Engine, Connection] | None] = ContextVar("store_transaction", default=None)

BATCH = 500  # values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


class StoreBase:
    _engine: Engine
    url: str

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several store calls as one write transaction: one commit, all or nothing.
        (A send writes its ledger entry and message together; each call alone commits.)"""
        if self._open_connection() is not None:
            yield
            return
        with self._engine.begin() as conn:
            token = _open.set((self._engine, conn))
            try:
                yield
            finally:
                _open.reset(token)

    def _open_connection(self) -> Connection | None:
        current = _open.get()
        return current[1] if current is not None and current[0] is self._engine else None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite), committed on success; inside
        `transaction()` the open one."""
        conn = self._open_connection()
        if conn is not None:
            yield conn
            return
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot, never takes SQLite's write lock
        (inside `transaction()`: the open one, so reads see its writes)."""
        conn = self._open_connection()
        if conn is not None:
            yield conn
            return
        with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            with conn.begin():
                yield conn

    def _insert(self, conn: Connection, table: Any) -> Any:
        """The dialect's INSERT (with on_conflict_do_nothing / do_update)."""
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    @staticmethod
    def _inserted(conn: Connection, stmt: Any, column: Any) -> bool:
        """Run an INSERT ... ON CONFLICT DO NOTHING; True if it inserted (RETURNING, not rowcount:
        psycopg reports -1 for an implicitly RETURNING insert)."""
        return conn.execute(stmt.returning(column)).first() is not None

    @staticmethod
    def _require_contact(conn: Connection, contact_id: int) -> None:
        """Raise ContactNotFound unless the contact exists and is not erased."""
        c = schema.contacts.c
        check_id(contact_id)
        erased = conn.execute(select(c.erased_at).where(c.id == contact_id)).first()
        if erased is None:
            raise ContactNotFound(f"no contact with id {contact_id}")
        if erased[0] is not None:
            raise ContactNotFound(f"contact {contact_id} was erased")

    @staticmethod
    def _live_ids(conn: Connection, contact_ids: list[int]) -> set[int]:
        """Those of `contact_ids` that exist and are not erased (one query per `BATCH`)."""
        c = schema.contacts.c
        live: set[int] = set()
        for i in range(0, len(contact_ids), BATCH):
            live.update(conn.execute(select(c.id).where(c.id.in_(contact_ids[i:i + BATCH]), c.erased_at.is_(None))).scalars())
        return live

    @staticmethod
    def _when(at: datetime | None) -> datetime:
        return utcnow() if at is None else check_aware("at", at)


def check_id(contact_id: Any) -> int:
    if not isinstance(contact_id, int) or isinstance(contact_id, bool):
        raise StoreError(f"contact id must be an integer, got {contact_id!r}")
    return contact_id


def check_aware(name: str, value: Any) -> datetime:
    """A timezone-aware datetime, or a clear StoreError (naive times are ambiguous)."""
    if not isinstance(value, datetime):
        raise StoreError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def check_text(name: str, value: Any, *, allow_empty: bool = False) -> str:
    """A non-empty string argument, or a clear StoreError naming it."""
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise StoreError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise StoreError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value
