"""Bulk writes for `cli.py contacts import`: one transaction per batch of contacts, with
their tags, consent proof, stage history, starting scores and suppressions (executemany, RETURNING ids)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, update

from store import schema
from store.base import StoreBase
from store.contacts import insert_aliases
from store.db import utcnow

c = schema.contacts.c
IDENTITY = ("id", "external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "stage", "attributes")


@dataclass
class ImportBatch:
    """New contacts (column dicts; their tags/consents by position), updates of existing ones
    (column dicts with "id"), and per-contact tags, consents and suppressions."""

    new: list[dict[str, Any]] = field(default_factory=list)
    new_tags: list[list[str]] = field(default_factory=list)
    new_consents: list[list[dict[str, Any]]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)
    untag: list[tuple[int, str]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    suppress: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[tuple[int, str]] = field(default_factory=list)  # earlier/other external ids kept
    new_aliases: list[list[str]] = field(default_factory=list)  # by position in `new`
    new_scores: dict[int, tuple[int, str]] = field(default_factory=dict)  # position in `new` -> (global score, reason)
    alias_source: str = "import"


class BulkImportMixin(StoreBase):
    def contact_rows(self) -> list[dict[str, Any]]:
        """Identity and profile columns of every contact that is not erased."""
        with self._read() as conn:
            rows = conn.execute(select(*(getattr(c, n) for n in IDENTITY)).where(c.erased_at.is_(None)))
            return [dict(r._mapping) for r in rows]

    def consented_contact_ids(self) -> set[int]:
        """Contacts with at least one consent event on record."""
        with self._read() as conn:
            return set(conn.execute(select(schema.consent_events.c.contact_id).distinct()).scalars())

    def suppressed_hashes(self) -> set[tuple[str, str]]:
        """(channel, address hash) of every suppressed address (see SuppressionMixin.address_hash)."""
        sp = schema.suppression.c
        with self._read() as conn:
            return {(ch, hsh) for ch, hsh in conn.execute(select(sp.channel, sp.address_hash))}

    def import_batch(self, batch: ImportBatch) -> list[int]:
        """Write `batch` in one transaction; return the ids of the new contacts, in order."""
        now = utcnow()
        with self._write() as conn:
            ids: list[int] = []
            if batch.new:
                names = {k for r in batch.new for k in r}  # executemany needs the same keys in every row
                rows = [{**dict.fromkeys(names), **r, "created_at": now, "updated_at": now} for r in batch.new]
                result = conn.execute(schema.contacts.insert().returning(c.id, sort_by_parameter_order=True), rows)
                ids = [int(i) for i in result.scalars()]
                history = [{"contact_id": i, "from_stage": None, "to_stage": r["stage"], "reason": "imported", "at": now}
                           for i, r in zip(ids, batch.new) if r.get("stage")]
                if history:
                    conn.execute(schema.stage_history.insert(), history)
                scored = [(ids[i], points, reason) for i, (points, reason) in batch.new_scores.items()]
                if scored:
                    conn.execute(schema.scores.insert(), [{"contact_id": i, "level": "global", "points": p, "updated_at": now}
                                                          for i, p, _ in scored])
                    conn.execute(schema.score_history.insert(), [
                        {"contact_id": i, "level": "global", "delta": p, "value": p, "reason": r, "at": now} for i, p, r in scored])
            if batch.updates:
                names = sorted({k for u in batch.updates for k in u} - {"id"})
                for name in names:  # one executemany per column, over the contacts that change it
                    params = [{"_id": u["id"], "_v": u[name]} for u in batch.updates if name in u]
                    conn.execute(update(schema.contacts).where(c.id == bindparam("_id"))
                                 .values({name: bindparam("_v"), "updated_at": now}), params)
            tags = batch.tags + [(i, t) for i, ts in zip(ids, batch.new_tags) for t in ts]
            if tags:
                stmt = self._insert(conn, schema.contact_tags).on_conflict_do_nothing(index_elements=["contact_id", "tag"])
                conn.execute(stmt, [{"contact_id": i, "tag": t, "added_at": now} for i, t in tags])
            if batch.untag:
                t = schema.contact_tags.c
                conn.execute(delete(schema.contact_tags).where(tuple_(t.contact_id, t.tag).in_(batch.untag)))
            consents = batch.consents + [{**e, "contact_id": i} for i, es in zip(ids, batch.new_consents) for e in es]
            if consents:
                conn.execute(schema.consent_events.insert(), consents)
            insert_aliases(conn, batch.aliases + [(i, a) for i, al in zip(ids, batch.new_aliases) for a in al],
                           batch.alias_source)
            if batch.suppress:
                stmt = self._insert(conn, schema.suppression).on_conflict_do_nothing(index_elements=["channel", "address_hash"])
                conn.execute(stmt, [{**s, "at": now} for s in batch.suppress])
        return ids
