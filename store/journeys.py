"""Deployed journey versions (immutable compiled IR), journey state, and enrolments."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from store import schema
from store.base import BATCH, StoreBase, check_choice, check_id, check_text
from store.db import utcnow
from store.records import Enrolment, JourneyState, JourneyVersion, StoreError

jv = schema.journey_versions.c
js = schema.journeys.c
en = schema.enrolments.c
STATES = ("active", "draining", "removed")


class JourneysMixin(StoreBase):
    def save_journey_version(self, journey_id: str, version: str, ir: dict[str, Any]) -> bool:
        """Store a version's IR; True if new. Saving the same IR again is a no-op, a different one is refused."""
        check_text("journey id", journey_id)
        check_text("version", version)
        if not isinstance(ir, dict):
            raise StoreError(f"ir must be a dict, got {type(ir).__name__}")
        with self._write() as conn:
            inserted = self._inserted(conn, self._insert(conn, schema.journey_versions).values(
                journey_id=journey_id, version=version, ir=ir, deployed_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["journey_id", "version"]), jv.version)
            if not inserted:
                stored = conn.execute(
                    select(jv.ir).where(jv.journey_id == journey_id, jv.version == version)).scalar_one()
                if stored != json.loads(json.dumps(ir)):  # compare as stored: tuples become lists
                    raise StoreError(f"journey {journey_id!r} version {version!r} is already deployed with a different IR")
        return inserted

    def get_journey_version(self, journey_id: str, version: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return conn.execute(
                select(jv.ir).where(jv.journey_id == journey_id, jv.version == version)).scalar_one_or_none()

    def list_journey_versions(self, journey_id: str) -> list[JourneyVersion]:
        """Versions oldest first (by deployment), without their IR."""
        with self._read() as conn:
            rows = conn.execute(select(jv.journey_id, jv.version, jv.deployed_at)
                                .where(jv.journey_id == journey_id).order_by(jv.deployed_at, jv.version))
            return [JourneyVersion(r.journey_id, r.version, r.deployed_at) for r in rows]

    def set_journey_state(
        self, journey_id: str, *, active_version: str | None = None, state: str | None = None
    ) -> JourneyState:
        """Create or update the journey's row; arguments left None keep their value (new rows: active)."""
        check_text("journey id", journey_id)
        if state is not None:
            check_choice("state", state, STATES)
        with self._write() as conn:
            if active_version is not None and self._version_missing(conn, journey_id, active_version):
                raise StoreError(f"journey {journey_id!r} has no deployed version {active_version!r}")
            now = utcnow()
            stmt = self._insert(conn, schema.journeys).values(
                id=journey_id, active_version=active_version, state=state or "active", updated_at=now)
            changes: dict[str, Any] = {"updated_at": now}
            if active_version is not None:
                changes["active_version"] = active_version
            if state is not None:
                changes["state"] = state
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changes))
            row = conn.execute(select(schema.journeys).where(js.id == journey_id)).one()
        return JourneyState(row.id, row.active_version, row.state, row.updated_at)

    def get_journey_state(self, journey_id: str) -> JourneyState | None:
        with self._read() as conn:
            row = conn.execute(select(schema.journeys).where(js.id == journey_id)).first()
        return None if row is None else JourneyState(row.id, row.active_version, row.state, row.updated_at)

    def list_journeys(self) -> list[JourneyState]:
        with self._read() as conn:
            rows = conn.execute(select(schema.journeys).order_by(js.id))
            return [JourneyState(r.id, r.active_version, r.state, r.updated_at) for r in rows]

    def record_enrolment(
        self,
        journey_id: str,
        contact_id: int,
        *,
        workflow_id: str,
        run_id: str | None = None,
        key: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        check_text("journey id", journey_id)
        check_text("workflow id", workflow_id)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            return int(conn.execute(schema.enrolments.insert().values(
                journey_id=journey_id, contact_id=contact_id, key=key, workflow_id=workflow_id,
                run_id=run_id, started_at=self._when(started_at),
            )).inserted_primary_key[0])

    def last_enrolment(self, journey_id: str, contact_id: int, key: str | None = None) -> Enrolment | None:
        """The latest enrolment of the contact in the journey (with this `key` if given)."""
        query = (select(schema.enrolments).where(en.journey_id == journey_id, en.contact_id == contact_id)
                 .order_by(en.started_at.desc(), en.id.desc()).limit(1))
        if key is not None:
            query = query.where(en.key == key)
        with self._read() as conn:
            r = conn.execute(query).first()
        return None if r is None else _enrolment(r)

    def last_enrolments(self, journey_id: str, contact_ids: list[int]) -> dict[int, Enrolment]:
        """`last_enrolment` (any key) for many contacts in one query each `BATCH`: contact id ->
        its latest enrolment; contacts never enrolled are absent."""
        latest: dict[int, Enrolment] = {}
        with self._read() as conn:
            for i in range(0, len(contact_ids), BATCH):
                rows = conn.execute(
                    select(schema.enrolments)
                    .where(en.journey_id == journey_id, en.contact_id.in_(contact_ids[i:i + BATCH]))
                    .order_by(en.started_at, en.id))
                latest.update((r.contact_id, _enrolment(r)) for r in rows)  # later rows replace earlier ones
        return latest

    def record_enrolments(self, rows: list[dict[str, Any]]) -> int:
        """Many `record_enrolment`s (same keyword names, plus journey_id and contact_id) in one
        write transaction. Rows of contacts erased or deleted meanwhile are dropped (their runs
        find no contact and end); returns how many were recorded."""
        if not rows:
            return 0
        values = []
        for row in rows:
            check_text("journey id", row["journey_id"])
            check_text("workflow id", row["workflow_id"])
            values.append({"journey_id": row["journey_id"], "contact_id": check_id(row["contact_id"]),
                           "key": row.get("key"), "workflow_id": row["workflow_id"], "run_id": row.get("run_id"),
                           "started_at": self._when(row.get("started_at"))})
        with self._write() as conn:
            live = self._live_ids(conn, sorted({v["contact_id"] for v in values}))  # inside the write: no erase between
            values = [v for v in values if v["contact_id"] in live]
            if values:
                conn.execute(schema.enrolments.insert(), values)
        return len(values)

    def finish_enrolment(self, workflow_id: str, run_id: str, outcome: str) -> bool:
        """Mark the run (by its first run id) as ended, so events no longer go to it. False when
        its end was recorded already (a retried call: the caller must not report it twice)."""
        run = (en.workflow_id == workflow_id, en.run_id == run_id)
        with self._write() as conn:
            closed = conn.execute(
                schema.enrolments.update()
                .where(*run, en.finished_at.is_(None))
                .values(finished_at=self._when(None), outcome=outcome[:100])
            ).rowcount
            if closed:
                return True
            return conn.execute(select(en.id).where(*run, en.finished_at.is_not(None)).limit(1)).first() is None

    def running_workflow_ids(self, contact_id: int) -> list[str]:
        """Workflow ids of the contact's runs that have not recorded an end."""
        query = (select(en.workflow_id).where(en.contact_id == contact_id, en.finished_at.is_(None))
                 .distinct().order_by(en.workflow_id))
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    @staticmethod
    def _version_missing(conn: Any, journey_id: str, version: str) -> bool:
        return conn.execute(select(jv.version).where(jv.journey_id == journey_id, jv.version == version)).first() is None


def _enrolment(r: Any) -> Enrolment:
    return Enrolment(r.id, r.journey_id, r.contact_id, r.key, r.workflow_id, r.run_id, r.started_at)
