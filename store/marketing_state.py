"""State the marketing model keeps between events: last segment membership (for "added to
segment" sweeps) and how far the rules have read each contact's score history (for
"score crossed N"). Plus one read-only query door for segments, reports and analysis,
which build their SQL in marketing/ and run it here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint, delete, func, select
from sqlalchemy.sql import Select

from store import schema
from store.base import StoreBase, check_text
from store.db import Id, utcnow, UTCDateTime
from store.records import ScoreChange

segment_membership = Table(
    "segment_membership",
    schema.metadata,
    Column("segment_id", String(200), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("since", UTCDateTime, nullable=False),
    UniqueConstraint("segment_id", "contact_id", name="uq_segment_membership"),
    Index("ix_segment_membership_contact", "contact_id"),
)

rule_score_marks = Table(
    "rule_score_marks",
    schema.metadata,
    Column("contact_id", Id, ForeignKey("contacts.id"), primary_key=True, autoincrement=False),
    Column("history_id", Id, nullable=False),  # the last score_history row the rules have seen
)

MARKETING_TABLES = (segment_membership, rule_score_marks)
sm = segment_membership.c
h = schema.score_history.c


def create_marketing_tables(conn: Any) -> None:
    """Migration step: the tables above (no-op where step 1 already made them)."""
    for table in MARKETING_TABLES:
        table.create(conn, checkfirst=True)


class MarketingStateMixin(StoreBase):
    def read_rows(self, query: Select) -> list[Any]:
        """Run a read-only SELECT built elsewhere (segments, reports, analysis) in one snapshot."""
        with self._read() as conn:
            return list(conn.execute(query))

    def segment_membership(self, segment_id: str) -> list[int]:
        """The members recorded by the last sweep of the segment, ascending."""
        query = select(sm.contact_id).where(sm.segment_id == segment_id).order_by(sm.contact_id)
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def replace_segment_membership(self, segment_id: str, members: Iterable[int]) -> tuple[list[int], list[int]]:
        """Record `members` as the segment's membership; return (added, removed), both ascending."""
        check_text("segment id", segment_id)
        wanted = set(members)
        with self._write() as conn:
            before = set(conn.execute(select(sm.contact_id).where(sm.segment_id == segment_id)).scalars())
            added, removed = sorted(wanted - before), sorted(before - wanted)
            if removed:
                conn.execute(delete(segment_membership).where(
                    sm.segment_id == segment_id, sm.contact_id.in_(removed)))
            if added:
                now = utcnow()
                conn.execute(segment_membership.insert(),
                             [{"segment_id": segment_id, "contact_id": cid, "since": now} for cid in added])
        return added, removed

    def has_score_changes(self, contact_id: int) -> bool:
        """Whether take_score_changes would return anything: one read, no write transaction."""
        mark = select(rule_score_marks.c.history_id).where(rule_score_marks.c.contact_id == contact_id).scalar_subquery()
        query = select(h.id).where(h.contact_id == contact_id, h.id > func.coalesce(mark, 0)).limit(1)
        with self._read() as conn:
            return conn.execute(query).first() is not None

    def take_score_changes(self, contact_id: int, level: str | None = "global") -> list[ScoreChange]:
        """Score changes at `level` (None: every level) the rules have not seen yet (oldest
        first), marking all of them seen."""
        marks = rule_score_marks.c
        with self._write() as conn:
            mark = conn.execute(select(marks.history_id).where(marks.contact_id == contact_id)).scalar_one_or_none()
            rows = list(conn.execute(select(schema.score_history)
                                     .where(h.contact_id == contact_id, h.id > (mark or 0)).order_by(h.id)))
            if not rows:
                return []
            last = max(r.id for r in rows)
            stmt = self._insert(conn, rule_score_marks).values(contact_id=contact_id, history_id=last)
            conn.execute(stmt.on_conflict_do_update(index_elements=["contact_id"], set_={"history_id": last}))
        return [ScoreChange(r.id, r.level, r.delta, r.value, r.reason, r.at) for r in rows if level in (None, r.level)]
