"""Segments and dynamic lists (`journeys/segments.yaml`, schema `schemas/segments.schema.json`).

A segment is a condition over attributes, tags, stage, scores and behaviour (events),
combined with all/any/not, compiled to SQL (marketing/segments_sql.py) and evaluated
in the database on SQLite and PostgreSQL.

Public API:
    load_segments(path) -> dict[str, Segment]             (raises ConfigError)
    segment_members(store, segment_id, *, now=None) -> list[int]
    sweep(store, segment_id) -> (added, removed)           (compares with the last sweep)
    explain_segment(store, segment_id, contact_id) -> Verdict  (each node for one contact, and its values)
    await sweep_and_publish(client, store, segment_id)     (publishes segment.entered / segment.left)
    validate_segments_file(path) -> [Diagnostic]           (registered for `cli.py validate`)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from compiler.conditions import did_you_mean
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.durations import parse_duration
from compiler.yaml_loader import LoadedDoc
from compiler.yaml_terms import format_duration
from compiler.config_file import ConfigError, load_config, validate_with
from marketing.segments_sql import COMPARE_OPS, Cond, Ctx, to_sql
from store import schema
from store.ingest import anonymous_profiles

FILE_NAME = "segments.yaml"
SCHEMA_NAME = "segments"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "journeys" / FILE_NAME
ENTERED, LEFT = "segment.entered", "segment.left"

# which extra keys each kind of condition takes (besides its own)
_EXTRAS: dict[str, tuple[str, ...]] = {
    "all": (), "any": (), "not": (), "tag": (), "tag_prefix": (), "stage": (), "segment": (),
    "attribute": COMPARE_OPS, "score": ("level",), "event": ("where", "at_least", "within", "before"),
}


class SegmentError(LookupError):
    """An unknown segment id (or a segments file that cannot be used)."""


@dataclass(frozen=True)
class Segment:
    id: str
    title: str
    description: str
    where: Cond


Segments = dict[str, Segment]


# ---------------------------------------------------------------- building from YAML


def _cond(doc: LoadedDoc, raw: dict[str, Any], path: tuple[Any, ...], problems: Problems) -> Cond | None:
    kinds = [k for k in raw if k in _EXTRAS]
    if len(kinds) != 1:
        what = f"has {len(kinds)} ({', '.join(kinds)})" if kinds else "has none"
        problems.add(doc.pos(path), f"a condition needs exactly one of {', '.join(_EXTRAS)}; this one {what}")
        return None
    kind = kinds[0]
    for key in raw:
        if key != kind and key not in _EXTRAS[kind]:
            allowed = ", ".join(_EXTRAS[kind]) or "nothing else"
            problems.add(doc.key_pos(path + (key,)), f'"{key}" does not go with "{kind}" (it takes: {allowed})')
    value = raw[kind]
    if kind in ("all", "any"):
        kids = [_cond(doc, c, path + (kind, i), problems) for i, c in enumerate(value)]
        return Cond(kind, children=tuple(k for k in kids if k))
    if kind == "not":
        kid = _cond(doc, value, path + ("not",), problems)
        return Cond(kind, children=(kid,)) if kid else None
    if kind == "attribute":
        ops = tuple((op, raw[op]) for op in COMPARE_OPS if op in raw)
        if not ops:
            problems.add(doc.pos(path + (kind,)), f'attribute "{value}" needs a comparison: {", ".join(COMPARE_OPS)}')
        return Cond(kind, value, ops=ops)
    if kind == "score":
        return Cond(kind, ops=tuple(value.items()), level=raw.get("level", "global"))
    if kind in ("stage", "event"):
        values = (value,) if isinstance(value, str) else tuple(value)
        if kind == "stage":
            return Cond(kind, values)
        within, before = (parse_duration(raw[k]) if k in raw else None for k in ("within", "before"))
        if within is not None and before is not None and within <= before:
            problems.add(doc.pos(path + ("before",)), f'before: {raw["before"]} must be shorter than within: '
                         f'{raw["within"]} (events newer than {raw["within"]} and older than {raw["before"]})')
        where = tuple((w["field"], next(k for k in w if k != "field"), next(v for k, v in w.items() if k != "field"))
                      for w in raw.get("where", ()))
        return Cond(kind, values, where=where, at_least=raw.get("at_least", 1), within_s=within, before_s=before)
    return Cond(kind, value)


def _references(cond: Cond) -> list[str]:
    own = [cond.value] if cond.kind == "segment" else []
    return own + [ref for kid in cond.children for ref in _references(kid)]


def _raw_references(raw: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """(path of the value, segment id) of every `segment:` in a condition as written."""
    if not isinstance(raw, dict):
        return []
    own = [(path + ("segment",), raw["segment"])] if isinstance(raw.get("segment"), str) else []
    kids = [(path + (k, i), c) for k in ("all", "any") for i, c in enumerate(raw.get(k) or [])]
    kids += [(path + ("not",), raw["not"])] if "not" in raw else []
    return own + [ref for p, c in kids for ref in _raw_references(c, p)]


def _check_references(doc: LoadedDoc, segments: Segments, problems: Problems) -> None:
    """Every `segment:` names a defined segment (reported at the name, with a did-you-mean),
    and no segment includes itself, directly or through others."""
    for i, raw in enumerate(doc.data.get("segments", [])):
        if segments.get(raw["id"]) is None:
            continue
        for path, ref in _raw_references(raw["where"], ("segments", i, "where")):
            if ref not in segments:
                problems.add(doc.pos(path), f'segment "{raw["id"]}" uses unknown segment "{ref}"'
                                            f'{did_you_mean(ref, list(segments))}')
            elif raw["id"] == ref or raw["id"] in _reachable(segments, ref):
                problems.add(doc.pos(path), f'segment "{raw["id"]}" includes itself (through "{ref}")')


def _reachable(segments: Segments, start: str) -> set[str]:
    """The segments `start` uses, directly or not (known ones only)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for ref in _references(segments[todo.pop()].where):
            if ref in segments and ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return seen


def build_segments(doc: LoadedDoc, problems: Problems) -> Segments:
    out: Segments = {}
    for i, raw in enumerate(doc.data.get("segments", [])):
        path = ("segments", i)
        if raw["id"] in out:
            problems.add(doc.pos(path + ("id",)), f'segment "{raw["id"]}" is defined twice')
            continue
        cond = _cond(doc, raw["where"], path + ("where",), problems)
        if cond is not None:
            out[raw["id"]] = Segment(raw["id"], raw.get("title", raw["id"]), raw.get("description", ""), cond)
    _check_references(doc, out, problems)
    return out


validate_segments_file = validate_with(SCHEMA_NAME, build_segments)
CONFIG_VALIDATORS[FILE_NAME] = validate_segments_file


def load_segments(path: str | Path | None = None) -> Segments:
    """The segments of `path` (default: $NURTURE_SEGMENTS, else journeys/segments.yaml)."""
    return load_config(path or os.environ.get("NURTURE_SEGMENTS") or DEFAULT_PATH, SCHEMA_NAME, build_segments)


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> Segments:
    return load_segments(path)


def default_segments() -> Segments:
    """The segments of the model this process runs (the live deployment's, compiler.live_folder;
    else $NURTURE_SEGMENTS, else the shipped file), reloaded when it changes."""
    from compiler.live_folder import live

    folder = live()
    path = str(folder / FILE_NAME if folder is not None else os.environ.get("NURTURE_SEGMENTS") or DEFAULT_PATH)
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise SegmentError(f"cannot read the segments file {path}: {exc.strerror}") from None
    return _cached(path, mtime)


# ---------------------------------------------------------------- evaluating


def _segment(segments: Segments, segment_id: str) -> Segment:
    found = segments.get(segment_id)
    if found is None:
        known = ", ".join(sorted(segments)) or "none"
        raise SegmentError(f'unknown segment "{segment_id}" (known: {known})')
    return found


def members_query(store: Any, segment: Segment, segments: Segments, now: datetime | None = None) -> Any:
    """SELECT contacts.id of the segment's members (not erased, not anonymous profiles: no one
    to reach yet, store/ingest.py), ascending."""
    ctx = Ctx(dialect=store.dialect, now=now or datetime.now(timezone.utc),
              resolve=lambda ref: _segment(segments, ref).where)
    c = schema.contacts.c
    anonymous = select(anonymous_profiles.c.contact_id)
    return select(c.id).where(c.erased_at.is_(None), c.id.not_in(anonymous), to_sql(segment.where, ctx)).order_by(c.id)


def segment_members(
    store: Any, segment_id: str, *, now: datetime | None = None, segments: Segments | None = None
) -> list[int]:
    """Ids of the contacts in the segment now (evaluated in SQL), ascending."""
    segments = segments if segments is not None else default_segments()
    query = members_query(store, _segment(segments, segment_id), segments, now)
    return [int(row[0]) for row in store.read_rows(query)]


def sweep(
    store: Any, segment_id: str, *, now: datetime | None = None, segments: Segments | None = None
) -> tuple[list[int], list[int]]:
    """(added, removed) since the last sweep of the segment; records the new membership."""
    members = segment_members(store, segment_id, now=now, segments=segments)
    return store.replace_segment_membership(segment_id, members)


async def sweep_and_publish(
    client: Any, store: Any, segment_id: str, *, segments: Segments | None = None, **publish_kwargs: Any
) -> tuple[list[int], list[int]]:
    """`sweep`, then publish `segment.entered` / `segment.left` (data: {segment}) for each change,
    through the one events path, so rules (`segment.entered: ID`) and journeys react."""
    from engine.events import publish

    added, removed = sweep(store, segment_id, segments=segments)
    for event_type, ids in ((ENTERED, added), (LEFT, removed)):
        for contact_id in ids:
            if event_type == LEFT and _erased(store, contact_id):
                continue  # erased since the last sweep: nothing to tell
            await publish(client, store, contact_id, event_type, data={"segment": segment_id}, **publish_kwargs)
    return added, removed


@dataclass(frozen=True)
class Verdict:
    """One node of a segment's condition, evaluated for one contact (`explain_segment`): what it
    tests, whether it holds, and what the contact has (`value`: the attribute's value, the tags,
    the stage, the score, the number of events of those types)."""

    test: str
    result: bool
    value: Any = None
    children: tuple["Verdict", ...] = ()

    def false_leaves(self) -> list["Verdict"]:
        """The tests that made the condition false (under `not`, the ones that held)."""
        if self.result or not self.children:
            return [] if self.result else [self]
        if self.test == "not":
            return [self.children[0]]
        return [leaf for child in self.children for leaf in child.false_leaves()]


def _describe(cond: Cond) -> str:
    if cond.kind in ("all", "any", "not"):
        return cond.kind
    if cond.kind == "attribute":
        return f"attribute {cond.value} " + " and ".join(f"{op} {v!r}" for op, v in cond.ops)
    if cond.kind == "score":
        return f"score({cond.level}) " + " and ".join(f"{op} {v}" for op, v in cond.ops)
    if cond.kind == "event":
        text = f"event {'|'.join(cond.value)} at least {cond.at_least}"
        text += f" within {format_duration(cond.within_s)}" if cond.within_s is not None else ""
        text += f" before {format_duration(cond.before_s)}" if cond.before_s is not None else ""
        return text + "".join(f" where {f} {op} {v!r}" for f, op, v in cond.where)
    if cond.kind == "stage":
        return f"stage in {list(cond.value)}"
    return f"{cond.kind} {cond.value}"


def _has(store: Any, contact: Any, cond: Cond) -> Any:
    """What the contact has for a leaf test (the values that make it true or false)."""
    if cond.kind == "attribute":
        return contact.attributes.get(cond.value)
    if cond.kind in ("tag", "tag_prefix"):
        return sorted(contact.tags)
    if cond.kind == "stage":
        return contact.stage
    if cond.kind == "score":
        return store.get_scores(contact.id).get(cond.level, 0)
    if cond.kind == "event":
        e = schema.events.c
        query = select(func.count()).where(e.contact_id == contact.id, e.type.in_(list(cond.value)))
        return int(store.read_rows(query)[0][0])
    return None


def explain_segment(
    store: Any, segment_id: str, contact_id: int, *, now: datetime | None = None, segments: Segments | None = None
) -> Verdict:
    """The segment's condition evaluated node by node for one contact, in one SQL query (the same
    SQL as `segment_members`, one column per node), with the contact's values for each leaf."""
    segments = segments if segments is not None else default_segments()
    ctx = Ctx(dialect=store.dialect, now=now or datetime.now(timezone.utc),
              resolve=lambda ref: _segment(segments, ref).where)
    contact = store.get_contact(contact_id)
    if contact is None:
        raise SegmentError(f"no contact {contact_id}")
    nodes: list[tuple[Cond, str]] = []

    def walk(cond: Cond) -> None:
        nodes.append((cond, _describe(cond)))
        kids = (ctx.resolve(cond.value),) if cond.kind == "segment" else cond.children
        for kid in kids:
            walk(kid)

    walk(_segment(segments, segment_id).where)
    c = schema.contacts.c
    columns = [case((to_sql(cond, ctx), 1), else_=0).label(f"n{i}") for i, (cond, _) in enumerate(nodes)]
    row = store.read_rows(select(*columns).where(c.id == contact_id))[0]
    position = iter(range(len(nodes)))

    def build() -> Verdict:
        i = next(position)
        cond, test = nodes[i]
        kids = (ctx.resolve(cond.value),) if cond.kind == "segment" else cond.children
        children = tuple(build() for _ in kids)
        return Verdict(test, bool(row[i]), None if children else _has(store, contact, cond), children)

    return build()


def _erased(store: Any, contact_id: int) -> bool:
    contact = store.get_contact(contact_id)
    return contact is None or contact.erased_at is not None


__all__ = [
    "ConfigError", "ENTERED", "LEFT", "Segment", "SegmentError", "Verdict", "explain_segment", "load_segments",
    "members_query",
    "segment_members", "sweep", "sweep_and_publish", "validate_segments_file",
]
