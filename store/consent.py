"""Consent: the append-only log of consent events, the state derived from it, and the
decisions taken from that state at each step (with their basis)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from store import schema
from store.base import StoreBase, check_choice, check_text
from store.records import ConsentDecision, ConsentEvent, ConsentState

e = schema.consent_events.c
d = schema.consent_decisions.c
STATUSES = ("granted", "confirmed", "withdrawn", "pending")  # pending: given on a form, awaiting double opt-in
GRANTING = ("granted", "confirmed")


class ConsentMixin(StoreBase):
    def record_consent(
        self,
        contact_id: int,
        channel: str,
        purpose: str,
        status: str,
        *,
        source: str,
        wording_version: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        evidence: Any = None,
        at: datetime | None = None,
    ) -> int:
        """Append one consent event; return its id. `at` defaults to now (give it when importing proof)."""
        check_text("channel", channel)
        check_text("purpose", purpose)
        check_choice("status", status, STATUSES)
        check_text("source", source)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            return int(conn.execute(schema.consent_events.insert().values(
                contact_id=contact_id, channel=channel, purpose=purpose, status=status, source=source,
                wording_version=wording_version, ip=ip, user_agent=user_agent, evidence=evidence,
                at=self._when(at),
            )).inserted_primary_key[0])

    def consent_state(self, contact_id: int, channel: str, purpose: str) -> ConsentState | None:
        """The latest event (by time, then id) for this channel and purpose, or None if there is none."""
        with self._read() as conn:
            row = conn.execute(
                select(e.id, e.status, e.at, e.source, e.wording_version)
                .where(e.contact_id == contact_id, e.channel == channel, e.purpose == purpose)
                .order_by(e.at.desc(), e.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return ConsentState(status=row.status, event_id=row.id, at=row.at, source=row.source,
                            wording_version=row.wording_version)

    def consent_states(self, contact_id: int) -> dict[str, dict[str, ConsentState]]:
        """{channel: {purpose: latest state}} for every channel and purpose on record."""
        with self._read() as conn:
            return self._consent_states(conn, contact_id)

    def consent_history(self, contact_id: int) -> list[ConsentEvent]:
        """Every consent event of the contact, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(schema.consent_events).where(e.contact_id == contact_id).order_by(e.at, e.id))
            return [_event(r) for r in rows]

    def record_consent_decision(
        self,
        contact_id: int,
        *,
        channel: str,
        purpose: str,
        granted: bool,
        basis: str,
        workflow_id: str | None = None,
        run_id: str | None = None,
        step_id: str | None = None,
        consent_event_id: int | None = None,
        at: datetime | None = None,
    ) -> int:
        """Record a decision taken at a step (granted or refused) with the basis it rests on."""
        check_text("channel", channel)
        check_text("purpose", purpose)
        check_text("basis", basis)
        if not isinstance(granted, bool):
            raise TypeError(f"granted must be a bool, got {granted!r}")
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            return int(conn.execute(schema.consent_decisions.insert().values(
                contact_id=contact_id, workflow_id=workflow_id, run_id=run_id, step_id=step_id,
                channel=channel, purpose=purpose, granted=granted, basis=basis,
                consent_event_id=consent_event_id, at=self._when(at),
            )).inserted_primary_key[0])

    def consent_decisions(self, contact_id: int) -> list[ConsentDecision]:
        with self._read() as conn:
            rows = conn.execute(select(schema.consent_decisions).where(d.contact_id == contact_id).order_by(d.at, d.id))
            return [
                ConsentDecision(r.id, r.contact_id, r.workflow_id, r.run_id, r.step_id, r.channel, r.purpose,
                                bool(r.granted), r.basis, r.consent_event_id, r.at)
                for r in rows
            ]

    @staticmethod
    def _consent_states(conn: Connection, contact_id: int) -> dict[str, dict[str, ConsentState]]:
        rows = conn.execute(
            select(e.id, e.channel, e.purpose, e.status, e.at, e.source, e.wording_version)
            .where(e.contact_id == contact_id).order_by(e.at, e.id)
        )
        states: dict[str, dict[str, ConsentState]] = {}
        for r in rows:  # oldest first, so the last one written per key is the latest
            states.setdefault(r.channel, {})[r.purpose] = ConsentState(r.status, r.id, r.at, r.source, r.wording_version)
        return states


def _event(r: Any) -> ConsentEvent:
    return ConsentEvent(r.id, r.contact_id, r.channel, r.purpose, r.status, r.source, r.wording_version,
                        r.ip, r.user_agent, r.evidence, r.at)
