"""Scores per level ("global", a stage or a tag), each change explained in score_history."""

from __future__ import annotations

from sqlalchemy import Connection, select

from store import schema
from store.base import StoreBase, check_text
from store.db import utcnow
from store.records import ScoreChange, StoreError

s = schema.scores.c
h = schema.score_history.c
GLOBAL = "global"


def _check_points(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise StoreError(f"{name} must be an integer, got {value!r}")
    return value


class ScoresMixin(StoreBase):
    def add_score(self, contact_id: int, points: int, *, level: str = GLOBAL, reason: str) -> int:
        """Add `points` (may be negative) at `level`; return the new value. Atomic under concurrency."""
        _check_points("points", points)
        check_text("level", level)
        check_text("reason", reason)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            now = utcnow()
            stmt = self._insert(conn, schema.scores).values(contact_id=contact_id, level=level, points=points, updated_at=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=["contact_id", "level"],
                set_={"points": schema.scores.c.points + stmt.excluded.points, "updated_at": now},
            )
            conn.execute(stmt)
            value = self._score(conn, contact_id, level)
            self._history(conn, contact_id, level, points, value, reason)
        return value

    def set_score(self, contact_id: int, value: int, *, level: str = GLOBAL, reason: str) -> int:
        """Set the score at `level` to `value`; the history records the delta. Returns `value`."""
        _check_points("value", value)
        check_text("level", level)
        check_text("reason", reason)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            before = conn.execute(
                select(s.points).where(s.contact_id == contact_id, s.level == level).with_for_update()
            ).scalar_one_or_none() or 0
            now = utcnow()
            stmt = self._insert(conn, schema.scores).values(contact_id=contact_id, level=level, points=value, updated_at=now)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["contact_id", "level"], set_={"points": value, "updated_at": now}))
            self._history(conn, contact_id, level, value - before, value, reason)
        return value

    def get_scores(self, contact_id: int) -> dict[str, int]:
        """{level: points} for every level the contact has a score at."""
        with self._read() as conn:
            rows = conn.execute(select(s.level, s.points).where(s.contact_id == contact_id).order_by(s.level))
            return {level: int(points) for level, points in rows}

    def score_history(self, contact_id: int, *, level: str | None = None) -> list[ScoreChange]:
        """Every score change of the contact, oldest first (optionally of one level)."""
        query = select(schema.score_history).where(h.contact_id == contact_id).order_by(h.at, h.id)
        if level is not None:
            query = query.where(h.level == level)
        with self._read() as conn:
            return [ScoreChange(r.id, r.level, r.delta, r.value, r.reason, r.at) for r in conn.execute(query)]

    @staticmethod
    def _score(conn: Connection, contact_id: int, level: str) -> int:
        return int(conn.execute(select(s.points).where(s.contact_id == contact_id, s.level == level)).scalar_one())

    @staticmethod
    def _history(conn: Connection, contact_id: int, level: str, delta: int, value: int, reason: str) -> None:
        conn.execute(schema.score_history.insert().values(
            contact_id=contact_id, level=level, delta=delta, value=value, reason=reason, at=utcnow()))
