"""Frequency tables and cross tables over the contact base, counted in SQL.

FIELD: `stage`, `temperature` (from the global score: cold < 40 <= warm < 70 <= hot),
`source` (the contact's `source:<name>` tags, as the import tags them), `tag:<prefix>` (the
contact's tags starting with the prefix; a contact with several counts under each), or
`attributes.<name>`. Contacts without a value count under "(none)". Erased contacts never count.

Public API:
    frequency(store, field) -> {"field", "total", "rows": [{"value", "count", "percent"}]}
    crosstab(store, row_field, col_field) -> {"rows", "cols", "counts", "row_totals", "col_totals", "total"}
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select, union_all

from marketing.segments_sql import json_text
from store import schema

NONE = "(none)"
THRESHOLDS = (40, 70)
c, t, s = schema.contacts.c, schema.contact_tags.c, schema.scores.c
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class FieldError(ValueError):
    """A FIELD the analysis does not know."""


def _live() -> Any:
    return c.erased_at.is_(None)


def _tag_values(prefix: str) -> Any:
    """(contact_id, value) for every tag with the prefix (value = the rest), plus (none) rows."""
    tagged = (select(t.contact_id.label("contact_id"), func.substr(t.tag, len(prefix) + 1).label("value"))
              .join(schema.contacts, c.id == t.contact_id).where(_live(), t.tag.like(prefix.replace("%", r"\%") + "%", escape="\\")))
    has = select(t.contact_id).where(t.tag.like(prefix.replace("%", r"\%") + "%", escape="\\"))
    untagged = select(c.id.label("contact_id"), literal(NONE).label("value")).where(_live(), c.id.not_in(has))
    return union_all(tagged, untagged)


def field_values(store: Any, field: str) -> Any:
    """A selectable of (contact_id, value) rows for FIELD."""
    if field == "stage":
        return select(c.id.label("contact_id"), func.coalesce(c.stage, NONE).label("value")).where(_live())
    if field == "temperature":
        score = func.coalesce(select(s.points).where(s.contact_id == c.id, s.level == "global").scalar_subquery(), 0)
        value = case((score >= THRESHOLDS[1], "hot"), (score >= THRESHOLDS[0], "warm"), else_="cold")
        return select(c.id.label("contact_id"), value.label("value")).where(_live())
    if field == "source":
        return _tag_values("source:")
    if field.startswith("tag:"):
        if not field[4:]:
            raise FieldError("tag: needs a prefix, e.g. tag:source: or tag:interest-")
        return _tag_values(field[4:])
    if field.startswith("attributes."):
        name = field[len("attributes."):]
        if not _NAME.match(name):
            raise FieldError(f"attribute name {name!r} must be letters, digits, _ or -")
        value = func.coalesce(cast(json_text(c.attributes, name, store.dialect), String), NONE)
        return select(c.id.label("contact_id"), value.label("value")).where(_live())
    raise FieldError(f"unknown field {field!r}: use stage, temperature, source, tag:<prefix> or attributes.<name>")


def _total(store: Any) -> int:
    return int(store.read_rows(select(func.count()).select_from(schema.contacts).where(_live()))[0][0])


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def frequency(store: Any, field: str) -> dict[str, Any]:
    values = field_values(store, field).subquery()
    query = select(values.c.value, func.count(func.distinct(values.c.contact_id))).group_by(values.c.value)
    total = _total(store)
    rows = sorted(((str(v), int(n)) for v, n in store.read_rows(query)), key=lambda r: (-r[1], r[0]))
    return {"field": field, "total": total,
            "rows": [{"value": v, "count": n, "percent": _percent(n, total)} for v, n in rows]}


def crosstab(store: Any, row_field: str, col_field: str) -> dict[str, Any]:
    a, b = field_values(store, row_field).subquery(), field_values(store, col_field).subquery()
    query = (select(a.c.value, b.c.value, func.count(func.distinct(a.c.contact_id)))
             .join(b, a.c.contact_id == b.c.contact_id).group_by(a.c.value, b.c.value))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for rv, cv, n in store.read_rows(query):
        counts[str(rv)][str(cv)] += int(n)
    cols = sorted({col for row in counts.values() for col in row})
    rows = sorted(counts)
    return {"row_field": row_field, "col_field": col_field, "rows": rows, "cols": cols,
            "counts": {r: {col: counts[r][col] for col in cols} for r in rows},
            "row_totals": {r: sum(counts[r].values()) for r in rows},
            "col_totals": {col: sum(counts[r][col] for r in rows) for col in cols}, "total": _total(store)}
