"""What an imported row may change in what is already known about a contact.

- **External ids are never lost.** A contact keeps its current external id; another one that a
  row brings for the same person (matched by email or phone) is kept as an alias
  (store `contact_aliases`), so events naming either id still find the contact. An id that
  belongs to another contact is not moved: a conflict.
- **Names are kept as given** (Unicode NFC). A value that is the same name with letters lost
  ("Maria" for "María", accents stripped by some system on the way) never replaces the name
  held: a conflict, reported.
- Otherwise `merge_priority` decides per field: a source overwrites a field it or a
  lower-priority source set, and only fills blanks otherwise (sources not listed rank last;
  equal rank: the newer value wins). Who set each field is kept in the `_field_sources` attribute.

Every refusal and conflict is a line of the reject report: (row, column, action, reason).
"""

from __future__ import annotations

import unicodedata
from typing import Any

SOURCES_ATTR = "_field_sources"
# external_id only fills a blank: the caller passes it only to a contact without one
MERGED_FIELDS = ("external_id", "email", "phone", "first_name", "last_name", "locale", "timezone")
NAME_FIELDS = ("first_name", "last_name")

ROW_REJECTED, FIELD_REFUSED, CONFLICT = "row rejected", "field refused", "conflict"
Report = tuple[int, str, str, str]  # (row, column, action, reason)


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _beyond_ascii(name: str) -> int:
    return sum(not ch.isascii() for ch in unicodedata.normalize("NFC", name))


def loses_letters(held: str | None, new: str) -> bool:
    """`new` is `held` with accents (or other non-ASCII letters) dropped: "Maria" for "María"."""
    return bool(held) and held != new and _fold(held) == _fold(new) and _beyond_ascii(new) < _beyond_ascii(held)


def name_conflict(name: str, held: str, new: str) -> str:
    return f"{name} {new!r} not used: the contact's {held!r} is the same name with more letters (kept)"


def rank(priority: list[str], source: str | None) -> int:
    return priority.index(source) if source in priority else len(priority)


def merge_fields(current: dict[str, Any], fields: dict[str, str], attributes: dict[str, str], source: str,
                 priority: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The column changes a row group makes to an existing contact under the merge rules, and
    the conflicts [(field, reason)] it does not apply."""
    attrs = dict(current.get("attributes") or {})
    owners = dict(attrs.get(SOURCES_ATTR) or {})
    changes: dict[str, Any] = {}
    conflicts: list[tuple[str, str]] = []

    def wins(name: str, old: Any) -> bool:
        return not old or rank(priority, source) <= rank(priority, owners.get(name))

    for name in MERGED_FIELDS:
        new, old = fields.get(name), current.get(name)
        if not new or new == old:
            continue
        if name in NAME_FIELDS and loses_letters(old, new):
            conflicts.append((name, name_conflict(name, old, new)))
        elif wins(name, old):
            changes[name], owners[name] = new, source
    for name, new in attributes.items():
        key = f"attributes.{name}"
        if new != attrs.get(name) and wins(key, attrs.get(name)):
            attrs[name], owners[key] = new, source
    if changes or owners != (current.get("attributes") or {}).get(SOURCES_ATTR):
        attrs[SOURCES_ATTR] = owners
        changes["attributes"] = attrs
    return changes, conflicts
