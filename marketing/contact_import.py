"""`cli.py contacts import`: a CSV of contacts from one source into the store.

Rows are parsed and checked (marketing/import_rows.py); bad rows go to the reject report and
never stop the import. Duplicates merge by external id, then email, then phone, within the file
and against the store. When a row meets an existing contact, `merge_priority` (e.g.
crm,shop,events) says which source owns each field: a source overwrites a field it or a
lower-priority source set, and only fills blanks otherwise (sources not listed rank last,
equal rank: the newer value wins). Who set each field is kept in the `_field_sources`
attribute. Every contact gets `source:NAME` and `imported:YYYY-MM-DD` tags; consent given at
the source is recorded with its proof (source, file, row, import time, wording version);
addresses that are suppressed, or marked do-not-contact (which suppresses them), are imported
but tagged `suppressed`; contacts without any consent on record are tagged `no-consent`.
Writes go in batches, one transaction each (store/bulk_import.py).

Public API:
    import_csv(store, path, options, progress=None) -> ImportSummary
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from marketing.import_rows import Row, parse_row, target_of
from store.addresses import EMAIL_CHANNELS, PHONE_CHANNELS
from store.bulk_import import ImportBatch

SOURCES_ATTR = "_field_sources"
MERGED_FIELDS = ("external_id", "email", "phone", "first_name", "last_name", "locale", "timezone")
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
    reject_report: Path | None = None


@dataclass
class ImportSummary:
    rows: int = 0
    imported: int = 0  # new contacts
    updated: int = 0  # existing contacts the file changed or tagged
    merged: int = 0  # rows folded into an earlier row of the file
    rejected: int = 0
    flagged: int = 0  # contacts with a suppressed address
    no_consent: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)

    def line(self) -> str:
        return (f"{self.rows} rows: {self.imported} imported, {self.updated} updated, {self.merged} merged, "
                f"{self.rejected} rejected, {self.flagged} flagged (suppressed), {self.no_consent} without consent")


@dataclass
class _Group:
    """The rows of the file that are one person."""

    rows: list[Row]
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


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
    """Merge rows of the file by external id, then email, then phone (later values win)."""
    groups: list[_Group] = []
    index: dict[tuple[str, str], _Group] = {}
    for row in rows:
        keys = [(k, row.fields[k]) for k in ("external_id", "email", "phone") if row.fields.get(k)]
        group = next((index[k] for k in keys if k in index), None)
        if group is None:
            group = _Group([])
            groups.append(group)
        else:
            summary.merged += 1
        group.rows.append(row)
        group.fields.update(row.fields)
        group.attributes.update(row.attributes)
        for key in [(k, group.fields[k]) for k in ("external_id", "email", "phone") if group.fields.get(k)]:
            index.setdefault(key, group)
    return groups


class _Existing:
    """The store's contacts, indexed by identity, updated as the import writes."""

    def __init__(self, store: Any) -> None:
        self.rows: dict[int, dict[str, Any]] = {r["id"]: r for r in store.contact_rows()}
        self.index: dict[tuple[str, str], int] = {}
        for r in self.rows.values():
            self.add(r)

    def add(self, r: dict[str, Any]) -> None:
        for k in ("external_id", "email", "phone"):
            if r.get(k):
                self.index.setdefault((k, r[k]), r["id"])

    def match(self, fields: dict[str, str]) -> dict[str, Any] | None:
        for k in ("external_id", "email", "phone"):
            if fields.get(k) and (k, fields[k]) in self.index:
                return self.rows[self.index[(k, fields[k])]]
        return None


def _rank(priority: list[str], source: str | None) -> int:
    return priority.index(source) if source in priority else len(priority)


def merge_fields(current: dict[str, Any], group: _Group, source: str, priority: list[str]) -> dict[str, Any]:
    """The column changes `group` makes to an existing contact under the merge rules."""
    attributes = dict(current.get("attributes") or {})
    owners = dict(attributes.get(SOURCES_ATTR) or {})
    changes: dict[str, Any] = {}
    wins = lambda name, old: not old or _rank(priority, source) <= _rank(priority, owners.get(name))  # noqa: E731
    for name in MERGED_FIELDS:
        new = group.fields.get(name)
        if new and new != current.get(name) and wins(name, current.get(name)):
            changes[name], owners[name] = new, source
    for name, new in group.attributes.items():
        key = f"attributes.{name}"
        if new != attributes.get(name) and wins(key, attributes.get(name)):
            attributes[name], owners[key] = new, source
    if changes or owners != (current.get("attributes") or {}).get(SOURCES_ATTR):
        attributes[SOURCES_ATTR] = owners
        changes["attributes"] = attributes
    return changes


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

    def add(self, group: _Group, batch: ImportBatch, summary: ImportSummary) -> None:
        consents = self._consents(group)
        tags = self.base_tags + sorted({t for r in group.rows for t in r.tags}) + self._flags(group, batch)
        summary.flagged += "suppressed" in tags
        current = self.existing.match(group.fields)
        has_consent = bool(consents) or (current is not None and current["id"] in self.consented)
        if not has_consent:
            tags.append("no-consent")
            summary.no_consent += 1
        if current is None:
            attributes = dict(group.attributes)
            owners = {**{k: self.options.source for k in group.fields}, **{f"attributes.{k}": self.options.source for k in attributes}}
            batch.new.append({**group.fields, "attributes": {**attributes, SOURCES_ATTR: owners}, "stage": self.options.stage})
            batch.new_tags.append(tags)
            batch.new_consents.append(consents)
            summary.imported += 1
            return
        cid = current["id"]
        changes = merge_fields(current, group, self.options.source, self.options.merge_priority)
        if changes:
            batch.updates.append({"id": cid, **changes})
            current.update(changes)
            self.existing.add(current)
        batch.tags.extend((cid, t) for t in tags)
        if has_consent and cid not in self.consented:
            batch.untag.append((cid, "no-consent"))
        batch.consents.extend({**e, "contact_id": cid} for e in consents)
        if consents:
            self.consented.add(cid)
        summary.updated += 1

    def flush(self, batch: ImportBatch) -> None:
        ids = self.store.import_batch(batch)
        for cid, row, consents in zip(ids, batch.new, batch.new_consents):
            self.existing.rows[cid] = {**row, "id": cid}
            self.existing.add(self.existing.rows[cid])
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
    summary = ImportSummary(rows=len(raw_rows))
    clean: list[Row] = []
    for number, raw in enumerate(raw_rows, start=2):
        row, problems = parse_row(number, raw, targets, options.default_region)
        if problems:
            summary.rejected += 1
            summary.rejects.extend((number, column, reason) for column, reason in problems)
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


def write_rejects(path: Path, rejects: list[tuple[int, str, str]]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "column", "reason"])
        writer.writerows(rejects)
