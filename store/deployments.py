"""Deployments: one row per `apply` that landed, with its provenance (git commit, dirty flag,
branch, actor, time), what changed, the journey versions it activated and the configuration
files it shipped (content-addressed), plus the deploy lock that lets one apply run at a time.

A deployment's `parent_id` is the deployment that was live when it was recorded (0 for the
first) and is unique: of two applies that both saw the same live deployment, exactly one can
record, so deployments form one line and the live one is the newest."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, UniqueConstraint, select, text
from sqlalchemy.exc import IntegrityError

from store import schema
from store.base import StoreBase, check_text
from store.db import Id, Json, UTCDateTime, utcnow
from store.records import StoreError

deployments = Table(
    "deployments",
    schema.metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("parent_id", Integer, nullable=False),  # the live deployment it replaced (0: none)
    Column("commit", String(64)),  # None: the folder was not in a git repository
    Column("dirty", Boolean, nullable=False),
    Column("branch", String(300)),
    Column("actor", String(300), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("changes", Json, nullable=False),  # ["+ journey x (new)", "~ scoring.yaml", ...]
    UniqueConstraint("parent_id", name="uq_deployments_parent"),
)

deployment_journeys = Table(
    "deployment_journeys",
    schema.metadata,
    Column("deployment_id", Id, nullable=False),
    Column("journey_id", String(200), nullable=False),
    Column("version", String(100)),
    Column("action", String(20), nullable=False),  # new | changed | removed | draining | active
    UniqueConstraint("deployment_id", "journey_id", name="uq_deployment_journeys"),
)

# the configuration files of a deployment (scoring.yaml, ...): name -> content hash
deployment_files = Table(
    "deployment_files",
    schema.metadata,
    Column("deployment_id", Id, nullable=False),
    Column("name", String(300), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("deployment_id", "name", name="uq_deployment_files"),
)

file_blobs = Table(
    "file_blobs",
    schema.metadata,
    Column("hash", String(64), primary_key=True),  # sha256 hex of the UTF-8 content
    Column("content", Text, nullable=False),
)

deploy_lock = Table(
    "deploy_lock",
    schema.metadata,
    Column("name", String(50), primary_key=True),
    Column("holder", Text, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", UTCDateTime, nullable=False),
)

dp, dj, df, fb, dl = deployments.c, deployment_journeys.c, deployment_files.c, file_blobs.c, deploy_lock.c
NO_COMMIT = "no commit"


def create_deployments_tables(conn: Any) -> None:
    """Migration step (no-op where step 1 already made them)."""
    for table in (deployments, deployment_journeys, deployment_files, file_blobs, deploy_lock):
        table.create(conn, checkfirst=True)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class StaleDeployment(StoreError):
    """The live deployment is not the one the apply was based on."""


class DeployLocked(StoreError):
    """Another apply holds the deploy lock."""


@dataclass(frozen=True)
class Deployment:
    id: int
    parent_id: int
    commit: str | None
    dirty: bool
    branch: str | None
    actor: str
    at: datetime
    changes: list[str]
    journeys: dict[str, str | None] = field(default_factory=dict)  # journey id -> version it activated
    files: dict[str, str] = field(default_factory=dict)  # config file name -> content hash

    @property
    def commit_label(self) -> str:
        """The commit, short, with `+dirty`; "no commit" for a folder outside git."""
        if not self.commit:
            return NO_COMMIT
        return self.commit[:12] + ("+dirty" if self.dirty else "")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "parent_id": self.parent_id, "commit": self.commit, "dirty": self.dirty,
                "branch": self.branch, "actor": self.actor, "at": self.at.isoformat(), "changes": self.changes,
                "journeys": self.journeys, "files": self.files}


@dataclass(frozen=True)
class NewDeployment:
    """What `record_deployment` writes besides the journey versions (saved by the caller in
    the same transaction)."""
    commit: str | None
    dirty: bool
    branch: str | None
    actor: str
    changes: list[str]
    journeys: dict[str, tuple[str | None, str]]  # journey id -> (version, action)
    files: dict[str, str]  # config file name -> content


class DeploymentsMixin(StoreBase):
    def live_deployment(self) -> Deployment | None:
        """The newest deployment (the live one), with its journeys and files; None before any."""
        with self._read() as conn:
            row = conn.execute(select(deployments).order_by(dp.id.desc()).limit(1)).first()
            return None if row is None else _deployment(conn, row)

    def live_deployment_id(self) -> int:
        """The live deployment's id, 0 before any (one indexed read: cheap to poll)."""
        with self._read() as conn:
            return int(conn.execute(select(dp.id).order_by(dp.id.desc()).limit(1)).scalar() or 0)

    def live_memo(self) -> dict[str, Any] | None:
        """What a run's memo says of the live deployment: {"Deployment": id, "Commit": commit
        (short, "+dirty"; "no commit" outside git)}; None before any deployment. One read."""
        with self._read() as conn:
            row = conn.execute(select(dp.id, dp.commit, dp.dirty).order_by(dp.id.desc()).limit(1)).first()
        if row is None:
            return None
        commit = (row.commit[:12] + ("+dirty" if row.dirty else "")) if row.commit else NO_COMMIT
        return {"Deployment": int(row.id), "Commit": commit}

    def get_deployment(self, deployment_id: int) -> Deployment | None:
        with self._read() as conn:
            row = conn.execute(select(deployments).where(dp.id == deployment_id)).first()
            return None if row is None else _deployment(conn, row)

    def list_deployments(self, journey_id: str | None = None, limit: int = 100) -> list[Deployment]:
        """Newest first; with `journey_id`, those that changed that journey."""
        query = select(deployments).order_by(dp.id.desc()).limit(limit)
        if journey_id is not None:
            query = query.where(dp.id.in_(select(dj.deployment_id).where(dj.journey_id == journey_id)))
        with self._read() as conn:
            return [_deployment(conn, r) for r in conn.execute(query).all()]

    def file_content(self, digest: str) -> str | None:
        with self._read() as conn:
            return conn.execute(select(fb.content).where(fb.hash == digest)).scalar_one_or_none()

    def record_deployment(self, new: NewDeployment, *, base_id: int) -> int:
        """Write the deployment (inside the caller's `transaction()` with the journey versions it
        activated, so all or nothing). StaleDeployment if the live one is not `base_id`."""
        check_text("actor", new.actor)
        with self._write() as conn:
            live = int(conn.execute(select(dp.id).order_by(dp.id.desc()).limit(1)).scalar() or 0)
            if live != base_id:
                raise StaleDeployment(f"the live deployment moved (#{live}, not #{base_id}); nothing applied")
            try:  # the whole transaction rolls back with the exception
                new_id = int(conn.execute(deployments.insert().values(
                    parent_id=live, commit=new.commit, dirty=new.dirty, branch=new.branch, actor=new.actor,
                    at=utcnow(), changes=list(new.changes))).inserted_primary_key[0])
            except IntegrityError:  # another apply recorded on the same parent first
                raise StaleDeployment("another apply recorded a deployment meanwhile; nothing applied") from None
            if new.journeys:
                conn.execute(deployment_journeys.insert(), [
                    {"deployment_id": new_id, "journey_id": j, "version": v, "action": a}
                    for j, (v, a) in sorted(new.journeys.items())])
            if new.files:
                digests = {name: content_hash(content) for name, content in new.files.items()}
                blobs = self._insert(conn, file_blobs)
                for name, content in new.files.items():
                    conn.execute(blobs.values(hash=digests[name], content=content)
                                 .on_conflict_do_nothing(index_elements=["hash"]))
                conn.execute(deployment_files.insert(), [
                    {"deployment_id": new_id, "name": n, "hash": h} for n, h in sorted(digests.items())])
        return new_id

    @contextmanager
    def deploy_lock(self, holder: str, timeout: float = 60.0, every: float = 0.2) -> Iterator[None]:
        """Hold the store's deploy lock: one apply at a time. Waits up to `timeout` seconds, then
        DeployLocked naming the holder and since when. On PostgreSQL an advisory lock on a
        connection of its own (gone with the process); on SQLite a lock row, taken over when its
        process (same host) no longer exists. The row also tells others who holds it."""
        check_text("lock holder", holder)
        deadline = time.monotonic() + timeout
        pg_conn = None
        if self.dialect == "postgresql":
            pg_conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while not self._try_lock(pg_conn, holder):
                if time.monotonic() >= deadline:
                    raise DeployLocked(self._lock_message(timeout))
                time.sleep(every)
            try:
                yield
            finally:
                with self._write() as conn:
                    conn.execute(deploy_lock.delete().where(dl.name == "deploy", dl.pid == os.getpid(),
                                                            dl.host == socket.gethostname()))
                if pg_conn is not None:
                    pg_conn.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"))
        finally:
            if pg_conn is not None:
                pg_conn.close()

    def deploy_lock_holder(self) -> tuple[str, datetime] | None:
        with self._read() as conn:
            row = conn.execute(select(dl.holder, dl.since).where(dl.name == "deploy")).first()
        return None if row is None else (row.holder, row.since)

    def _try_lock(self, pg_conn: Any, holder: str) -> bool:
        me = {"name": "deploy", "holder": holder, "host": socket.gethostname(), "pid": os.getpid(), "since": utcnow()}
        if pg_conn is not None:
            if not pg_conn.execute(text(f"SELECT pg_try_advisory_lock({_PG_KEY})")).scalar():
                return False
            with self._write() as conn:  # we hold the advisory lock: any row left is a dead holder's
                conn.execute(deploy_lock.delete())
                conn.execute(deploy_lock.insert().values(**me))
            return True
        with self._write() as conn:
            row = conn.execute(select(dl.host, dl.pid).where(dl.name == "deploy")).first()
            if row is not None and row.host == me["host"] and not _alive(row.pid):
                conn.execute(deploy_lock.delete().where(dl.name == "deploy"))
            return self._inserted(conn, self._insert(conn, deploy_lock).values(**me)
                                  .on_conflict_do_nothing(index_elements=["name"]), dl.name)

    def _lock_message(self, timeout: float) -> str:
        held = self.deploy_lock_holder()
        who = f"{held[0]} since {held[1]:%Y-%m-%d %H:%M:%S} UTC" if held else "another apply"
        return f"the deploy lock is held by {who}; waited {timeout:g} s (--lock-timeout); nothing applied"


_PG_KEY = "hashtext(current_schema() || '/nurture-deploy')"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _deployment(conn: Any, row: Any) -> Deployment:
    journeys = {r.journey_id: r.version for r in conn.execute(
        select(dj.journey_id, dj.version).where(dj.deployment_id == row.id).order_by(dj.journey_id))}
    files = {r.name: r.hash for r in conn.execute(
        select(df.name, df.hash).where(df.deployment_id == row.id).order_by(df.name))}
    return Deployment(row.id, row.parent_id, row.commit, bool(row.dirty), row.branch, row.actor, row.at,
                      list(row.changes or []), journeys, files)


# Migration step 12: the score log and the consent decisions name the deployment that was live
# when each row was written (a trigger fills `deployment_id`, so no writer has to pass it).
_NAMED_TABLES = ("score_history", "consent_decisions")
_PG_FUNCTION = """CREATE OR REPLACE FUNCTION nurture_live_deployment() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.deployment_id IS NULL THEN
        NEW.deployment_id := (SELECT max(id) FROM deployments);
      END IF;
      RETURN NEW;
    END $$"""


def name_deployment_in_logs(conn: Any) -> None:
    """Add `deployment_id` to score_history and consent_decisions, filled on insert."""
    from sqlalchemy import inspect

    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql(_PG_FUNCTION)
    for table in _NAMED_TABLES:
        if "deployment_id" not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN deployment_id BIGINT")
        if postgres:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_deployment ON {table}")
            conn.exec_driver_sql(f"CREATE TRIGGER {table}_deployment BEFORE INSERT ON {table} "
                                 "FOR EACH ROW EXECUTE FUNCTION nurture_live_deployment()")
        else:
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_deployment AFTER INSERT ON {table} "
                f"WHEN NEW.deployment_id IS NULL BEGIN UPDATE {table} SET deployment_id = "
                f"(SELECT max(id) FROM deployments) WHERE id = NEW.id; END")
