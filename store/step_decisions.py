"""Step decisions: why a send step did not send now (postponed by quiet hours, a send window or
a frequency cap until T; skipped for no address or no send window), recorded by the send gate
where the decision is taken, so `cli.py explain` reads it instead of reverse-engineering it.
Ids and codes only, keyed by (workflow id, first run id, step, visit). Consent refusals are not
repeated here: they are the consent decisions (store/consent.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, select

from store import schema
from store.base import StoreBase, check_text
from store.db import Id, UTCDateTime

step_decisions = Table(
    "step_decisions",
    schema.metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("workflow_id", Text, nullable=False),
    Column("run_id", Text, nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("visit", Integer, nullable=False),
    Column("decision", String(20), nullable=False),  # postponed | skipped
    Column("reason", String(50), nullable=False),  # quiet_hours | send_window | frequency_cap | no_address | ...
    Column("until", UTCDateTime),  # postponed: the first instant the send may go
    Column("at", UTCDateTime, nullable=False),
    Index("ix_step_decisions_contact", "contact_id", "at"),
    Index("ix_step_decisions_run", "workflow_id", "run_id", "step_id", "visit"),
)
sd = step_decisions.c
DECISIONS = ("postponed", "skipped")


@dataclass(frozen=True)
class StepDecision:
    id: int
    contact_id: int
    workflow_id: str
    run_id: str
    step_id: str
    visit: int
    decision: str
    reason: str
    until: datetime | None
    at: datetime


def create_step_decisions_table(conn: Any) -> None:
    """Migration step: the table above (no-op where step 1 already made it)."""
    step_decisions.create(conn, checkfirst=True)


class StepDecisionsMixin(StoreBase):
    def record_step_decision(
        self,
        contact_id: int,
        *,
        workflow_id: str,
        run_id: str,
        step_id: str,
        visit: int,
        decision: str,
        reason: str,
        until: datetime | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append one decision (a postponement repeated by a later attempt is a new row)."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        check_text("reason", reason)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            return int(conn.execute(step_decisions.insert().values(
                contact_id=contact_id, workflow_id=workflow_id, run_id=run_id, step_id=step_id, visit=visit,
                decision=decision, reason=reason, until=until, at=self._when(at),
            )).inserted_primary_key[0])

    def step_decisions_for(self, contact_id: int) -> list[StepDecision]:
        """The contact's step decisions, oldest first."""
        query = select(step_decisions).where(sd.contact_id == contact_id).order_by(sd.at, sd.id)
        with self._read() as conn:
            return [StepDecision(r.id, r.contact_id, r.workflow_id, r.run_id, r.step_id, r.visit, r.decision,
                                 r.reason, r.until, r.at) for r in conn.execute(query)]
