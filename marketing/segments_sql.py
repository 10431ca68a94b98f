"""Segment conditions compiled to SQLAlchemy Core, evaluated in the database.

Every condition becomes a boolean SQL expression over the `contacts` row (correlated
EXISTS / scalar subqueries for tags, scores and events). JSON access differs per dialect,
so `json_text` / `json_number` / `json_kind` write it for SQLite (json_extract/json_type)
and PostgreSQL (->>, jsonb_typeof) explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Float, and_, case, cast, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from store import schema

contacts = schema.contacts.c
COMPARE_OPS = ("equals", "not_equals", "in", "contains", "starts_with", "gt", "gte", "lt", "lte", "exists")


@dataclass(frozen=True)
class Cond:
    """A parsed condition: `kind` (all, any, not, attribute, tag, tag_prefix, stage, score, event,
    segment), its `value`, the comparison `ops` and, for events, `where`/`at_least` and the time
    window: only events newer than `within_s` and older than `before_s` seconds count."""

    kind: str
    value: Any = None
    ops: tuple[tuple[str, Any], ...] = ()
    children: tuple["Cond", ...] = ()
    level: str = "global"
    where: tuple[tuple[str, str, Any], ...] = ()  # (field, op, value) on event data
    at_least: int = 1
    within_s: int | None = None
    before_s: int | None = None


@dataclass(frozen=True)
class Ctx:
    dialect: str
    now: datetime
    resolve: Callable[[str], Cond]  # another segment's condition, by id


# ---------------------------------------------------------------- JSON access per dialect


def json_text(col: Any, key: str, dialect: str) -> ColumnElement:
    """The value at `key` as text (strings unquoted), NULL when absent."""
    if dialect == "postgresql":
        return col.op("->>")(key)
    return func.json_extract(col, f'$."{key}"')


def json_kind(col: Any, key: str, dialect: str) -> ColumnElement:
    """'string' | 'number' | 'boolean' | 'null' | 'object' | 'array', NULL when absent."""
    if dialect == "postgresql":
        return func.jsonb_typeof(col.op("->")(key))
    t = func.json_type(col, f'$."{key}"')
    return case((t == "text", "string"), (t.in_(("integer", "real")), "number"),
                (t.in_(("true", "false")), "boolean"), else_=t)


def json_number(col: Any, key: str, dialect: str) -> ColumnElement:
    """The value at `key` as a number, NULL unless it is a JSON number (never a cast error)."""
    raw = json_text(col, key, dialect)
    return case((json_kind(col, key, dialect) == "number", cast(raw, Float)), else_=None)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _equals(col: Any, key: str, value: Any, dialect: str) -> ColumnElement:
    kind = json_kind(col, key, dialect)
    if isinstance(value, bool):
        if dialect == "postgresql":
            return and_(kind == "boolean", json_text(col, key, dialect) == ("true" if value else "false"))
        return func.json_type(col, f'$."{key}"') == ("true" if value else "false")
    if isinstance(value, (int, float)):
        return json_number(col, key, dialect) == float(value)
    return and_(kind == "string", json_text(col, key, dialect) == str(value))


def json_compare(col: Any, key: str, op: str, value: Any, dialect: str) -> ColumnElement:
    """`col[key] <op> value` for the comparison ops of segments.yaml (missing keys never match,
    except `not_equals` and `exists: false`)."""
    text = json_text(col, key, dialect)
    if op == "equals":
        return _equals(col, key, value, dialect)
    if op == "not_equals":
        return not_(func.coalesce(_equals(col, key, value, dialect), false()))
    if op == "in":
        return or_(*(_equals(col, key, v, dialect) for v in value))
    if op == "contains":
        return func.lower(text).like(f"%{_like_escape(str(value).lower())}%", escape="\\")
    if op == "starts_with":
        return text.like(f"{_like_escape(str(value))}%", escape="\\")
    if op == "exists":
        present = json_kind(col, key, dialect).is_not(None)
        return present if value else not_(present)
    number = json_number(col, key, dialect)
    return {"gt": number > value, "gte": number >= value, "lt": number < value, "lte": number <= value}[op]


def plain_compare(expr: Any, op: str, value: Any) -> ColumnElement:
    """The same comparison ops on an ordinary column or scalar subquery."""
    if op == "equals":
        return expr == value
    if op == "not_equals":
        return or_(expr.is_(None), expr != value)
    if op == "in":
        return expr.in_(list(value))
    if op == "contains":
        return func.lower(expr).like(f"%{_like_escape(str(value).lower())}%", escape="\\")
    if op == "starts_with":
        return expr.like(f"{_like_escape(str(value))}%", escape="\\")
    if op == "exists":
        return expr.is_not(None) if value else expr.is_(None)
    return {"gt": expr > value, "gte": expr >= value, "lt": expr < value, "lte": expr <= value}[op]


# ---------------------------------------------------------------- conditions


def to_sql(cond: Cond, ctx: Ctx) -> ColumnElement:
    """A boolean SQL expression, true for the contacts (rows of `contacts`) in the condition."""
    return _KINDS[cond.kind](cond, ctx)


def _all(cond: Cond, ctx: Ctx) -> ColumnElement:
    return and_(true(), *(to_sql(c, ctx) for c in cond.children))


def _any(cond: Cond, ctx: Ctx) -> ColumnElement:
    return or_(false(), *(to_sql(c, ctx) for c in cond.children))


def _not(cond: Cond, ctx: Ctx) -> ColumnElement:
    return not_(func.coalesce(to_sql(cond.children[0], ctx), false()))


def _attribute(cond: Cond, ctx: Ctx) -> ColumnElement:
    return and_(*(json_compare(contacts.attributes, cond.value, op, v, ctx.dialect) for op, v in cond.ops))


def _tag(cond: Cond, ctx: Ctx) -> ColumnElement:
    t = schema.contact_tags.c
    match = t.tag == cond.value if cond.kind == "tag" else t.tag.like(f"{_like_escape(cond.value)}%", escape="\\")
    return exists().where(t.contact_id == contacts.id, match)


def _stage(cond: Cond, ctx: Ctx) -> ColumnElement:
    return contacts.stage.in_(list(cond.value))


def _score(cond: Cond, ctx: Ctx) -> ColumnElement:
    s = schema.scores.c
    points = func.coalesce(
        select(s.points).where(s.contact_id == contacts.id, s.level == cond.level).scalar_subquery(), 0)
    return and_(*(plain_compare(points, op, v) for op, v in cond.ops))


def _event(cond: Cond, ctx: Ctx) -> ColumnElement:
    e = schema.events.c
    filters = [e.contact_id == contacts.id, e.type.in_(list(cond.value))]
    if cond.within_s is not None:
        filters.append(e.at >= ctx.now - timedelta(seconds=cond.within_s))
    if cond.before_s is not None:
        filters.append(e.at < ctx.now - timedelta(seconds=cond.before_s))
    for field, op, value in cond.where:
        filters.append(json_compare(e.data, field, op, value, ctx.dialect))
    if cond.at_least == 1:
        return exists().where(*filters)
    count = select(func.count()).select_from(schema.events).where(*filters).scalar_subquery()
    return count >= literal(cond.at_least)


def _segment(cond: Cond, ctx: Ctx) -> ColumnElement:
    return to_sql(ctx.resolve(cond.value), ctx)


_KINDS: dict[str, Callable[[Cond, Ctx], ColumnElement]] = {
    "all": _all, "any": _any, "not": _not, "attribute": _attribute, "tag": _tag, "tag_prefix": _tag,
    "stage": _stage, "score": _score, "event": _event, "segment": _segment,
}
KINDS = tuple(_KINDS)
