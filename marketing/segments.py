"""Segments and dynamic lists (`journeys/segments.yaml`, schema `schemas/segments.schema.json`).

A segment is a condition over attributes, tags, stage, scores and behaviour (events),
combined with all/any/not, compiled to SQL (marketing/segments_sql.py) and evaluated
in the database on SQLite and PostgreSQL.

Public API:
    load_segments(path) -> dict[str, Segment]             (raises ConfigError)
    segment_members(store, segment_id, *, now=None) -> list[int]
    sweep(store, segment_id) -> (added, removed)           (compares with the last sweep)
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

from sqlalchemy import select

from compiler.conditions import did_you_mean
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.durations import parse_duration
from compiler.yaml_loader import LoadedDoc
from compiler.config_file import ConfigError, load_config, validate_with
from marketing.segments_sql import COMPARE_OPS, Cond, Ctx, to_sql
from store import schema

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
    """The default file's segments, reloaded when it changes."""
    path = str(os.environ.get("NURTURE_SEGMENTS") or DEFAULT_PATH)
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
    """SELECT contacts.id of the segment's members (not erased), ascending."""
    ctx = Ctx(dialect=store.dialect, now=now or datetime.now(timezone.utc),
              resolve=lambda ref: _segment(segments, ref).where)
    c = schema.contacts.c
    return select(c.id).where(c.erased_at.is_(None), to_sql(segment.where, ctx)).order_by(c.id)


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


def _erased(store: Any, contact_id: int) -> bool:
    contact = store.get_contact(contact_id)
    return contact is None or contact.erased_at is not None


__all__ = [
    "ConfigError", "ENTERED", "LEFT", "Segment", "SegmentError", "load_segments", "members_query",
    "segment_members", "sweep", "sweep_and_publish", "validate_segments_file",
]
