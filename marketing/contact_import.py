"""`cli.py contacts import`: a CSV of contacts from one source into the store.

Rows are parsed and checked (marketing/import_rows.py): a bad value refuses that field, a row
with nothing left to identify the contact is rejected; both go to the reject report and never
stop the import. Duplicates merge by external id (current or alias), then email, then phone,
within the file and against the store, under the rules of marketing/import_merge.py (external
ids kept as aliases, names never lose letters, `merge_priority` per field); conflicts go to
the reject report too. Every contact gets `source:NAME` and `imported:YYYY-MM-DD` tags; consent given at
the source is recorded with its proof (source, file, row, import time, wording version);
addresses that are suppressed, or marked do-not-contact (which suppresses them), are imported
but tagged `suppressed`; contacts without any consent on record are tagged `no-consent`.
Writes go in batches, one transaction each (store/bulk_import.py).

Stage and score: a `stage` column sets the lifecycle stage of a new contact (over `--stage` for
that row); both must be stages declared in stages.yaml (options.stages, else read from the
journeys folder: NURTURE_JOURNEYS_DIR or ./journeys): an unknown `--stage` stops the import, an
unknown stage in a row refuses that field. An existing contact's stage is never changed by an
import (stages move by stages.yaml's rules): a different stage in the file is a conflict. A
`score` column (a whole number) is a new contact's starting global score, written to the score
log with reason `import:<source>` (kept by `scores rebuild`, like other changes no rule made);
an existing contact's score is never changed (scores move by scoring.yaml's rules): a different
score in the file is a conflict.

Public API:
    import_csv(store, path, options, progress=None) -> ImportSummary
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select

from marketing.import_merge import (CONFLICT, FIELD_REFUSED, NAME_FIELDS, ROW_REJECTED, SOURCES_ATTR, Report,
                                    loses_letters, merge_fields, name_conflict)
from marketing.import_rows import Row, check_stage, parse_row, target_of
from store import schema
from store.addresses import EMAIL_CHANNELS, PHONE_CHANNELS
from store.bulk_import import ImportBatch

IDENTITY = ("external_id", "email", "phone")
BATCH = 5000


@dataclass
class ImportOptions:
    source: str
    consents: list[tuple[str, str]] = field(default_factory=list)  # (channel, purpose) given for every row
    mapping: dict[str, str] = field(default_factory=dict)
    merge_priority: list[str] = field(default_factory=list)
    default_region: str | None = None
    wording_version: str | None = None
    stage: str | None = None  # for new contacts
    stages: tuple[str, ...] | None = None  # the declared stage ids (None: read stages.yaml when needed)
    reject_report: Path | None = None


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0  # new contacts
    updated: int = 0  # existing contacts the file changed or tagged
    merged: int = 0  # rows folded into an earlier row of the file
    rejected: int = 0  # rows rejected whole
    refused: int = 0  # fields refused (the rest of their row imported)
    conflicts: int = 0
    flagged: int = 0  # contacts with a suppressed address
    no_consent: int = 0
    rejects: list[Report] = field(default_factory=list)  # (row, column, action, reason)

    def report(self, row: int, column: str, action: str, reason: str) -> None:
        self.rejects.append((row, column, action, reason))
        if action == FIELD_REFUSED:
            self.refused += 1
        elif action == CONFLICT:
            self.conflicts += 1

    def line(self) -> str:
        return (f"{self.rows} rows: {self.imported} imported, {self.updated} updated, {self.merged} merged, "
                f"{self.rejected} rejected, {self.refused} field(s) refused, {self.conflicts} conflict(s), "
                f"{self.flagged} flagged (suppressed), {self.no_consent} without consent")


@dataclass
class _Group:
    """The rows of the file that are one person."""

    rows: list[Row]
    fields: dict[str, str] = field(default_factory=dict)  # all but external ids
    attributes: dict[str, str] = field(default_factory=dict)
    external_ids: list[str] = field(default_factory=list)  # every one the rows give, in order
    origin: dict[str, tuple[int, str]] = field(default_factory=dict)  # field -> (row, column) it came from
    id_origin: dict[str, tuple[int, str]] = field(default_factory=dict)  # external id -> (row, column)

    def keys(self) -> list[tuple[str, str]]:
        return [("external_id", e) for e in self.external_ids] + [
            (k, self.fields[k]) for k in ("email", "phone") if self.fields.get(k)]

    def absorb(self, row: Row, fields: dict[str, str], summary: ImportSummary) -> None:
        """Add a row's values (later rows win, except external ids and names losing letters)."""
        self.rows.append(row)
        for name, value in fields.items():
            where = (row.number, row.columns.get(name, name))
            if name == "external_id":
                if value not in self.external_ids:
                    self.external_ids.append(value)
                    self.id_origin[value] = where
                continue
            held = self.fields.get(name)
            if name in NAME_FIELDS and held and loses_letters(held, value):
                summary.report(*where, CONFLICT, name_conflict(name, held, value) + f" (row {self.origin[name][0]})")
                continue
            self.fields[name], self.origin[name] = value, where
        for name, value in row.attributes.items():
            self.attributes[name] = value
            self.origin[f"attributes.{name}"] = (row.number, row.columns.get(f"attributes.{name}", name))


class ImportError_(ValueError):
    """The file cannot be imported at all (missing, not CSV, no header)."""


def _read(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportError_(f"{path} is not a UTF-8 CSV file: {exc}") from None


def _group_rows(rows: list[Row], summary: ImportSummary) -> list[_Group]:
    """Merge rows of the file by external id, then email, then phone. An identifier of the row
    that belongs to another person of the file is not used (a conflict)."""
    groups: list[_Group] = []
    index: dict[tuple[str, str], _Group] = {}
    for row in rows:
        keys = [(k, row.fields[k]) for k in IDENTITY if row.fields.get(k)]
        group = next((index[k] for k in keys if k in index), None)
        fields = dict(row.fields)
        for key in keys:
            other = index.get(key)
            if group is not None and other is not None and other is not group:
                summary.report(row.number, row.columns.get(key[0], key[0]), CONFLICT,
                               f"{key[0]} {key[1]!r} is row {other.rows[0].number}'s, another contact: not used")
                fields.pop(key[0])
        if group is None:
            group = _Group([])
            groups.append(group)
        else:
            summary.merged += 1
        group.absorb(row, fields, summary)
        for key in group.keys():
            index.setdefault(key, group)
    return groups


class _Existing:
    """The store's contacts, indexed by identity, updated as the import writes."""

    def __init__(self, store: Any) -> None:
        self.rows: dict[int, dict[str, Any]] = {r["id"]: r for r in store.contact_rows()}
        self._scores: dict[int, int] | None = None
        self.index: dict[tuple[str, str], int] = {}
        for r in self.rows.values():
            self.add(r)
        for external_id, cid in store.external_id_owners().items():  # aliases
            self.index.setdefault(("external_id", external_id), cid)

    def global_scores(self, store: Any) -> dict[int, int]:
        """Every contact's global score (read once, when a file has a score column)."""
        if self._scores is None:
            sc = schema.scores.c
            self._scores = {r.contact_id: int(r.points)
                            for r in store.read_rows(select(sc.contact_id, sc.points).where(sc.level == "global"))}
        return self._scores

    def add(self, r: dict[str, Any]) -> None:
        for k in IDENTITY:
            if r.get(k):
                self.index.setdefault((k, r[k]), r["id"])

    def match(self, group: _Group) -> tuple[dict[str, Any] | None, list[tuple[str, str, int]]]:
        """The contact the group is (by external id, then email, then phone) and the group's
        identifiers that belong to another contact: [(field, value, that contact's id)]."""
        found = [(k, v, self.index[(k, v)]) for k, v in group.keys() if (k, v) in self.index]
        if not found:
            return None, []
        cid = found[0][2]
        return self.rows[cid], [(k, v, other) for k, v, other in found if other != cid]


class _Importer:
    def __init__(self, store: Any, path: Path, options: ImportOptions, now: datetime) -> None:
        self.store, self.path, self.options, self.now = store, path, options, now
        self.existing = _Existing(store)
        self.consented = store.consented_contact_ids()
        self.suppressed = store.suppressed_hashes()
        self.base_tags = [f"source:{options.source}", f"imported:{now.date().isoformat()}"]

    def _consents(self, group: _Group) -> list[dict[str, Any]]:
        """Consent events (without contact_id) the group's rows prove."""
        out, seen = [], set()
        for row in group.rows:
            for channel, purpose in [*self.options.consents, *row.consents]:
                needs = "email" if channel in EMAIL_CHANNELS else "phone" if channel in PHONE_CHANNELS else None
                if (channel, purpose) in seen or (needs and not row.fields.get(needs)):
                    continue
                seen.add((channel, purpose))
                out.append({"channel": channel, "purpose": purpose, "status": "granted",
                            "source": f"import:{self.options.source}", "wording_version": self.options.wording_version,
                            "evidence": {"file": self.path.name, "row": row.number, "imported_at": self.now.isoformat()},
                            "at": self.now})
        return out

    def _flags(self, group: _Group, batch: ImportBatch) -> list[str]:
        """`suppressed` if an address is (or, for do-not-contact rows, now gets) suppressed."""
        flagged = False
        for channel, name in (("email", "email"), ("sms", "phone")):
            address = group.fields.get(name)
            if not address:
                continue
            digest = self.store.address_hash(channel, address, normalised=True)
            if any(r.do_not_contact for r in group.rows) and (channel, digest) not in self.suppressed:
                self.suppressed.add((channel, digest))
                batch.suppress.append({"channel": channel, "address_hash": digest, "reason": "dnc",
                                       "source": f"import:{self.options.source} {self.path.name}"})
            flagged = flagged or (channel, digest) in self.suppressed
        return ["suppressed"] if flagged else []

    def _drop_clashes(self, group: _Group, clashes: list[tuple[str, str, int]], summary: ImportSummary) -> None:
        """Identifiers of the group that are another contact's are not used (conflicts)."""
        for name, value, other in clashes:
            where = group.id_origin[value] if name == "external_id" else group.origin[name]
            summary.report(*where, CONFLICT, f"{name} {value!r} belongs to contact {other}, not to the contact "
                                             "the row's other identifiers found: not used")
            if name == "external_id":
                group.external_ids.remove(value)
            else:
                group.fields.pop(name)

    def _external_ids(self, group: _Group, current: dict[str, Any] | None,
                      summary: ImportSummary) -> tuple[str | None, list[str]]:
        """The external id to fill in (only where there is none) and those kept as aliases."""
        held = current.get("external_id") if current else None
        known = {e for e in group.external_ids if current and self.existing.index.get(("external_id", e)) == current["id"]}
        fresh = [e for e in group.external_ids if e != held and e not in known]
        fill = fresh.pop(0) if fresh and not held else None
        kept = held or fill or next(iter(known), None)
        for alias in fresh:
            summary.report(*group.id_origin[alias], CONFLICT, f"external id {alias!r} differs from the contact's "
                                                             f"{kept!r}: kept as an alias, both find the contact")
        return fill, fresh

    def add(self, group: _Group, batch: ImportBatch, summary: ImportSummary) -> None:
        current, clashes = self.existing.match(group)
        self._drop_clashes(group, clashes, summary)
        fill, aliases = self._external_ids(group, current, summary)
        consents = self._consents(group)
        tags = self.base_tags + sorted({t for r in group.rows for t in r.tags}) + self._flags(group, batch)
        summary.flagged += "suppressed" in tags
        has_consent = bool(consents) or (current is not None and current["id"] in self.consented)
        if not has_consent:
            tags.append("no-consent")
            summary.no_consent += 1
        fields = {**group.fields, **({"external_id": fill} if fill else {})}
        stage, score = fields.pop("stage", None), fields.pop("score", None)
        if current is None:
            attributes = dict(group.attributes)
            owners = {**{k: self.options.source for k in fields}, **{f"attributes.{k}": self.options.source for k in attributes}}
            if score is not None:
                batch.new_scores[len(batch.new)] = (int(score), f"import:{self.options.source}")
            batch.new.append({**fields, "attributes": {**attributes, SOURCES_ATTR: owners},
                              "stage": stage or self.options.stage})
            batch.new_tags.append(tags)
            batch.new_consents.append(consents)
            batch.new_aliases.append(aliases)
            summary.imported += 1
            return
        cid = current["id"]
        self._profile_conflicts(group, current, stage, score, summary)
        changes, conflicts = merge_fields(current, fields, group.attributes, self.options.source, self.options.merge_priority)
        for name, reason in conflicts:
            summary.report(*group.origin[name], CONFLICT, reason)
        if changes:
            batch.updates.append({"id": cid, **changes})
            current.update(changes)
            self.existing.add(current)
        batch.aliases.extend((cid, alias) for alias in aliases)
        self._index_aliases(cid, aliases)
        batch.tags.extend((cid, t) for t in tags)
        if has_consent and cid not in self.consented:
            batch.untag.append((cid, "no-consent"))
        batch.consents.extend({**e, "contact_id": cid} for e in consents)
        if consents:
            self.consented.add(cid)
        summary.updated += 1

    def _profile_conflicts(self, group: _Group, current: dict[str, Any], stage: str | None, score: str | None,
                           summary: ImportSummary) -> None:
        """An import never moves an existing contact's stage or score: a different value is a conflict."""
        if stage is not None and stage != current.get("stage"):
            summary.report(*group.origin["stage"], CONFLICT, f"stage {stage!r} differs from the contact's "
                           f"{current.get('stage')!r}: not changed (stages move by stages.yaml's rules)")
        held = self.existing.global_scores(self.store).get(current["id"], 0) if score is not None else None
        if score is not None and int(score) != held:
            summary.report(*group.origin["score"], CONFLICT, f"score {score} differs from the contact's {held}: "
                           "not changed (scores move by scoring.yaml's rules)")

    def _index_aliases(self, cid: int, aliases: list[str]) -> None:
        for alias in aliases:
            self.existing.index.setdefault(("external_id", alias), cid)

    def flush(self, batch: ImportBatch) -> None:
        batch.alias_source = f"import:{self.options.source} {self.path.name}"
        ids = self.store.import_batch(batch)
        for cid, row, consents, aliases in zip(ids, batch.new, batch.new_consents, batch.new_aliases):
            self.existing.rows[cid] = {**row, "id": cid}
            self.existing.add(self.existing.rows[cid])
            self._index_aliases(cid, aliases)
            if consents:
                self.consented.add(cid)


def import_csv(store: Any, path: str | Path, options: ImportOptions,
               progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import `path`; `progress(done, total)` is called as rows are written."""
    path = Path(path)
    header, raw_rows = _read(path)
    if not header:
        raise ImportError_(f"{path} has no header row")
    targets = {column: target_of(column, options.mapping) for column in header}
    stages = declared_stages(options) if options.stage or "stage" in targets.values() else ()
    if options.stage:
        try:
            check_stage(options.stage, stages)
        except ValueError as exc:
            raise ImportError_(f"--stage: {exc}") from None
    summary = ImportSummary(rows=len(raw_rows))
    clean: list[Row] = []
    for number, raw in enumerate(raw_rows, start=2):
        row, problems = parse_row(number, raw, targets, options.default_region, stages)
        action = ROW_REJECTED if row is None else FIELD_REFUSED
        for column, reason in problems:
            summary.report(number, column, action, reason)
        if row is None:
            summary.rejected += 1
        else:
            clean.append(row)
    now = datetime.now(timezone.utc)
    importer = _Importer(store, path, options, now)
    groups = _group_rows(clean, summary)
    done = 0
    for start in range(0, len(groups), BATCH):
        batch = ImportBatch()
        for group in groups[start:start + BATCH]:
            importer.add(group, batch, summary)
        importer.flush(batch)
        done += sum(len(g.rows) for g in groups[start:start + BATCH])
        if progress:
            progress(done + summary.rejected, summary.rows)
    if options.reject_report:
        write_rejects(options.reject_report, summary.rejects)
    return summary


def declared_stages(options: ImportOptions) -> tuple[str, ...]:
    """options.stages, else the stage ids of stages.yaml in the journeys folder."""
    if options.stages is not None:
        return options.stages
    from compiler.config_file import ConfigError
    from compiler.live_folder import disk_folder
    from marketing.stages import FILE_NAME, load_stages

    path = disk_folder() / FILE_NAME
    try:
        return tuple(s.id for s in load_stages(path).stages)
    except (ConfigError, OSError) as exc:
        raise ImportError_(f"cannot check stages against {path}: {exc}") from None


def write_rejects(path: Path, rejects: list[Report]) -> None:
    """The reject report: one line per rejected row, refused field or conflict."""
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "column", "action", "reason"])
        writer.writerows(rejects)
