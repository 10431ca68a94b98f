"""Imported do-not-contact lists (e.g. a national "Robinson" list): one address per line, or a
CSV column. Stored as keyed hashes only (store.suppression), so they block sends and flag
re-imports of those addresses, and survive erasure."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from store.addresses import normalise_address, normalise_phone
from store.records import StoreError

COLUMNS = {"email": ("email", "e-mail", "mail", "address"), "sms": ("phone", "mobile", "number", "msisdn", "sms")}


class ListError(ValueError):
    """The list cannot be read (missing file, no such column)."""


@dataclass
class ListImport:
    read: int = 0
    added: int = 0
    already: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def line(self, channel: str) -> str:
        return (f"{self.added} address(es) newly suppressed on {channel}, {self.already} already suppressed, "
                f"{len(self.invalid)} invalid, {self.read} read")


def _open(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ListError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ListError(f"cannot read {path}: {exc}") from None


def read_addresses(path: Path, channel: str, column: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, raw address): a CSV with a header when `column` is given or the first line
    has a delimiter, else one address per line (blank lines and # comments skipped)."""
    text = _open(path)
    first = text.splitlines()[0] if text.strip() else ""
    header_only = first.strip().lower() in {n for names in COLUMNS.values() for n in names}
    if column is None and not header_only and not any(d in first for d in ",;\t"):
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip() and not raw.lstrip().startswith("#"):
                yield number, raw.strip()
        return
    dialect = csv.Sniffer().sniff(first, delimiters=",;\t") if any(d in first for d in ",;\t") else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    names = {(n or "").strip().lower(): n for n in reader.fieldnames or []}
    wanted = [column.lower()] if column else list(COLUMNS.get(channel, ()))
    key = next((names[w] for w in wanted if w in names), None)
    if key is None:
        raise ListError(f"{path}: no column {' or '.join(wanted)} (columns: {', '.join(names) or 'none'}); use --column NAME")
    for row in reader:
        value = (row.get(key) or "").strip()
        if value:
            yield reader.line_num, value


def import_list(store: Any, path: str | Path, channel: str, *, reason: str, source: str,
                column: str | None = None, default_region: str | None = None) -> ListImport:
    """Suppress every valid address of the list in one transaction."""
    from store.bulk_import import ImportBatch

    result, digests = ListImport(), {}
    for number, raw in read_addresses(Path(path), channel, column):
        result.read += 1
        try:
            address = normalise_phone(raw, default_region) if channel == "sms" else normalise_address(channel, raw)
        except StoreError as exc:
            result.invalid.append((number, str(exc)))
            continue
        digests.setdefault(store.address_hash(channel, address), None)
    known = {h for ch, h in store.suppressed_hashes() if ch == channel}
    new = [d for d in digests if d not in known]
    result.already, result.added = len(digests) - len(new), len(new)
    store.import_batch(ImportBatch(suppress=[
        {"channel": channel, "address_hash": d, "reason": reason, "source": source} for d in new]))
    return result
