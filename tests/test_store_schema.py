"""Opening the store: default location, migrations (idempotent, concurrent), SQLite settings."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from store import Store, StoreError
from store.migrations import STEPS


def test_open_twice_is_idempotent(db_url: str) -> None:
    with Store.open(db_url) as first:
        cid = first.create_contact(email="a@example.com")
        assert first.applied_migrations() == [v for v, _, _ in STEPS]
    with Store.open(db_url) as second:
        assert second.applied_migrations() == [v for v, _, _ in STEPS]
        assert second.schema_version() == STEPS[-1][0]
        assert second.get_contact(cid).email == "a@example.com"


def test_concurrent_first_open_applies_each_step_once(db_url: str) -> None:
    stores: list[Store] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_it() -> None:
        try:
            barrier.wait()
            stores.append(Store.open(db_url))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert len(stores) == 3
        with stores[0]._engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar_one() == len(STEPS)
            assert conn.execute(text("SELECT count(*) FROM settings")).scalar_one() == 1
    finally:
        for s in stores:
            s.close()


def test_dialect_and_url(store: Store, db_url: str) -> None:
    assert store.url == db_url
    assert store.dialect == ("sqlite" if db_url.startswith("sqlite") else "postgresql")


def test_default_location_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NURTURE_DB_URL", raising=False)
    with Store.open() as store:
        assert store.dialect == "sqlite"
        assert store.url == f"sqlite:///{tmp_path / '.data' / 'nurture.db'}"
    assert (tmp_path / ".data" / "nurture.db").exists()
    monkeypatch.setenv("NURTURE_DB_URL", f"sqlite:///{tmp_path / 'env' / 'x.db'}")
    with Store.open() as store:
        assert store.url.endswith("env/x.db")
    assert (tmp_path / "env" / "x.db").exists()


def test_sqlite_wal_busy_timeout_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        Store.open("mysql://x@localhost/db")
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("just words")
    with pytest.raises(StoreError, match="cannot open Store.*127.0.0.1:9"):
        Store.open("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")


def test_timestamps_are_stored_as_utc(pg_store: Store) -> None:
    with pg_store._engine.connect() as conn:
        kind = conn.execute(text(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'at'")).scalar_one()
    assert kind == "timestamp with time zone"


def test_closing_a_run_finds_its_enrolment_by_index(store: Store) -> None:
    """finish_enrolment runs at the end of every run: it must not read the whole table."""
    from sqlalchemy import inspect

    with store._engine.connect() as conn:
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("enrolments")}
        assert indexes.get("ix_enrolments_run") == ["workflow_id", "run_id"]
        if store.dialect == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN UPDATE enrolments SET outcome = 'x' "
                "WHERE workflow_id = 'w' AND run_id = 'r' AND finished_at IS NULL"))
            assert "USING INDEX ix_enrolments_run" in plan, plan
