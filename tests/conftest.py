"""Shared fixtures: databases for the contact store.

- `sqlite_url` / `sqlite_store`: a fresh SQLite file per test.
- `pg_url` / `pg_store`: a fresh PostgreSQL schema per test (dropped afterwards), on
  NURTURE_TEST_PG_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test; skipped with the
  reason if that server cannot be reached.
- `db_url` / `store`: parametrised over both ("sqlite", "postgresql").
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from store import Store

PG_URL = os.environ.get("NURTURE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine | str]:
    """An engine on the test server, or the reason it is unreachable (a str)."""
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        engine.dispose()
        yield f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string(hide_password=True)}: {getattr(exc, 'orig', exc)}"
        return
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine | str) -> Iterator[str]:
    """A URL whose search_path is a brand-new schema, dropped after the test."""
    if isinstance(pg_admin, str):
        pytest.skip(pg_admin)
    name = f"t_{uuid.uuid4().hex[:16]}"
    with pg_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of each kind (the store is not opened yet)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def _opened(url: str) -> Iterator[Store]:
    store = Store.open(url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An opened, migrated store on SQLite and on PostgreSQL."""
    yield from _opened(db_url)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    yield from _opened(sqlite_url)


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    yield from _opened(pg_url)
