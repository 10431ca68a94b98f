"""Score changes computed by the marketing model (marketing/scoring.py) and written in one
locked transaction with the history they were computed from, so caps and decay stay exact
under concurrent events; and the rewrite of a contact's scores by `cli.py scores rebuild`."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, NamedTuple

from sqlalchemy import Connection, delete, select

from store import schema
from store.base import StoreBase
from store.events import event_from_row
from store.records import Event, ScoreChange, StageChange

h = schema.score_history.c
ev = schema.events.c


class ScoreRow(NamedTuple):
    """One score_history line to write: the level's new `value` after `delta`, explained by `reason`."""

    level: str
    delta: int
    value: int
    reason: str
    at: datetime


# compute(history in write order, the contact's current stage) -> rows to append
Update = Callable[[list[ScoreChange], "str | None"], list[ScoreRow]]
# compute(history, the contact's events, its stage changes) -> the whole new history
Rebuild = Callable[[list[ScoreChange], list[Event], list[StageChange]], list[ScoreRow]]


class ScoreLogMixin(StoreBase):
    def score_update(self, contact_id: int, compute: Update) -> list[ScoreRow]:
        """Lock the contact, give `compute` its score history and stage, append what it returns."""
        with self._write() as conn:
            stage = self._lock_contact(conn, contact_id)
            rows = compute(self._history_rows(conn, contact_id), stage)
            self._write_rows(conn, contact_id, rows)
        return rows

    def score_rebuild(self, contact_id: int, compute: Rebuild) -> list[ScoreRow]:
        """Replace the contact's scores and score history with what `compute` derives."""
        sh = schema.stage_history.c
        with self._write() as conn:
            self._lock_contact(conn, contact_id)
            history = self._history_rows(conn, contact_id)
            events = [event_from_row(r) for r in
                      conn.execute(select(schema.events).where(ev.contact_id == contact_id).order_by(ev.at, ev.id))]
            stages = [
                StageChange(r.id, r.from_stage, r.to_stage, r.reason, r.at)
                for r in conn.execute(select(schema.stage_history).where(sh.contact_id == contact_id).order_by(sh.at, sh.id))
            ]
            rows = compute(history, events, stages)
            conn.execute(delete(schema.score_history).where(h.contact_id == contact_id))
            conn.execute(delete(schema.scores).where(schema.scores.c.contact_id == contact_id))
            self._write_rows(conn, contact_id, rows)
        return rows

    # -- helpers -------------------------------------------------------------------------------------

    def _lock_contact(self, conn: Connection, contact_id: int) -> str | None:
        """Check the contact and hold its row (FOR UPDATE on PostgreSQL); return its stage."""
        self._require_contact(conn, contact_id)
        c = schema.contacts.c
        return conn.execute(select(c.stage).where(c.id == contact_id).with_for_update()).scalar_one()

    @staticmethod
    def _history_rows(conn: Connection, contact_id: int) -> list[ScoreChange]:
        rows = conn.execute(select(schema.score_history).where(h.contact_id == contact_id).order_by(h.id))
        return [ScoreChange(r.id, r.level, r.delta, r.value, r.reason, r.at) for r in rows]

    def _write_rows(self, conn: Connection, contact_id: int, rows: list[ScoreRow]) -> None:
        if not rows:
            return
        conn.execute(schema.score_history.insert(), [{"contact_id": contact_id, **r._asdict()} for r in rows])
        final: dict[str, ScoreRow] = {r.level: r for r in rows}
        stmt = self._insert(conn, schema.scores)
        stmt = stmt.on_conflict_do_update(
            index_elements=["contact_id", "level"],
            set_={"points": stmt.excluded.points, "updated_at": stmt.excluded.updated_at},
        )
        conn.execute(stmt, [{"contact_id": contact_id, "level": r.level, "points": r.value, "updated_at": r.at}
                            for r in final.values()])
