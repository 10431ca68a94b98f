"""Strict YAML loading with positions.

Journeys are read with libyaml's event parser (fast) and composed here into plain data
plus a position for every value and every mapping key, so each later error can say
`line:col`. The loader is strict where YAML is surprising: duplicate keys, anchors,
aliases, tags, merge keys, and YAML 1.1 readings (`on`/`no`/`yes`/`off` as booleans,
`21:00` as a base-60 number, `0777` as octal) are errors, never silent conversions.
Scalars otherwise follow YAML 1.2's core schema (so `2024-05-01` stays a string).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)

from yaml.loader import Loader as _PureParser

try:  # libyaml: an order of magnitude faster; PyYAML's pure parser otherwise
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = _PureParser  # type: ignore[misc]

Pos = tuple[int, int]  # 1-based (line, col)
Path = tuple[Any, ...]  # keys and list indices from the document root

MAX_DEPTH = 40

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_BOOL11 = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$")
_OCTAL11 = re.compile(r"^[-+]?0[0-9]+$")
_OTHER_BASE = re.compile(r"^[-+]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?)$")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_INF_NAN = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")


@dataclass(frozen=True)
class ScalarSpan:
    """Where a scalar's text stands in the file (0-based, as libyaml marks are)."""

    index: int
    line: int
    col: int
    style: str  # "" plain, "'", '"', "|", ">"


class YamlError(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


@dataclass
class LoadedDoc:
    """Plain data plus where each piece of it came from."""

    text: str
    data: Any = None
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)
    spans: dict[Path, ScalarSpan] = field(default_factory=dict)
    _line_starts: list[int] | None = None

    def pos(self, path: Path) -> Pos:
        """Position of the value at `path` (or of its nearest known ancestor)."""
        path = tuple(path)
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_pos(self, path: Path) -> Pos:
        """Position of the key whose value is at `path`."""
        return self.keys.get(tuple(path)) or self.pos(path)

    def pos_in(self, path: Path, offset: int) -> Pos:
        """Position of the character at `offset` inside the string value at `path`."""
        span = self.spans.get(tuple(path))
        if span is None:
            return self.pos(path)
        if span.style in ("|", ">"):
            return self._pos_in_block(span, offset)
        return self._index_pos(self._raw_index(span, offset))

    def _raw_index(self, span: ScalarSpan, offset: int) -> int:
        """Walk the raw text, undoing quoting and line folding, until `offset` decoded chars."""
        text, i, decoded = self.text, span.index, 0
        if span.style in ("'", '"'):
            i += 1
        n = len(text)
        while decoded < offset and i < n:
            c = text[i]
            if span.style == "'" and c == "'" and text[i + 1 : i + 2] == "'":
                i += 2
            elif span.style == '"' and c == "\\":
                esc = text[i + 1 : i + 2]
                i += {"x": 4, "u": 6, "U": 10}.get(esc, 2)
                if esc == "\n":
                    while i < n and text[i] in " \t":
                        i += 1
                    continue
            elif c == "\n":
                i += 1
                while i < n and text[i] in " \t\n":
                    i += 1
            else:
                i += 1
            decoded += 1
        return i

    def _pos_in_block(self, span: ScalarSpan, offset: int) -> Pos:
        lines = self.text.split("\n")
        first = span.line + 1
        content = [ln for ln in lines[first:] if ln.strip()]
        indent = len(content[0]) - len(content[0].lstrip(" ")) if content else 0
        for number in range(first, len(lines)):
            body = lines[number][indent:]
            if offset <= len(body):
                return number + 1, indent + offset + 1
            offset -= len(body) + 1
        return span.line + 1, span.col + 1

    def _index_pos(self, index: int) -> Pos:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._line_starts, index) - 1
        return line + 1, index - self._line_starts[line] + 1


def index_to_pos(text: str, index: int) -> Pos:
    """1-based line and column of character `index` in `text`."""
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def load_yaml(text: str, parser: type | None = None) -> tuple[LoadedDoc, list[tuple[Pos, str]]]:
    """Parse one YAML document strictly. Errors are (position, message); a syntax error
    stops the parse (the data is then None), the other errors do not."""
    parser = parser or _Parser
    doc = LoadedDoc(text=text)
    composer = _Composer(text, doc, parser)
    try:
        doc.data = composer.run()
    except YamlError as exc:
        composer.errors.append((exc.pos, exc.message))
        doc.data = None
    except yaml.MarkedYAMLError as exc:
        if parser is not _PureParser and "nesting depth" in str(exc.problem):
            # libyaml (PyYAML 6.0.3+) has a limit of its own (1000 levels) and its scanner reads
            # a run of "[" ahead before the composer sees any: the pure parser, which has none,
            # reads this rare file so that our limit gives the same error with every build.
            return load_yaml(text, _PureParser)
        mark = exc.problem_mark or exc.context_mark
        pos = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        ctx = exc.context_mark
        if exc.problem and exc.context and ctx and (ctx.line, ctx.column) != (mark.line, mark.column):
            what += f" ({exc.context} at line {ctx.line + 1}, column {ctx.column + 1})"
        composer.errors.append((pos, f"YAML syntax error: {what}"))
        doc.data = None
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        index = getattr(exc, "position", 0) or 0
        composer.errors.append((index_to_pos(text, index), f"YAML error: {_reader_reason(exc)}"))
        doc.data = None
    return doc, composer.errors


def _reader_reason(exc: yaml.YAMLError) -> str:
    character = getattr(exc, "character", None)
    if isinstance(character, str):
        return f"character {ord(character):#x} is not allowed in YAML"
    return str(getattr(exc, "reason", "") or "the file is not valid YAML text")


class _Composer:
    def __init__(self, text: str, doc: LoadedDoc, parser: type) -> None:
        self.parser = parser(text)
        self.doc = doc
        self.errors: list[tuple[Pos, str]] = []

    def run(self) -> Any:
        p = self.parser
        p.get_event()  # stream start
        if p.check_event(StreamEndEvent):
            return None
        p.get_event()  # document start
        data = self.node((), 0)
        p.get_event()  # document end
        if not p.check_event(StreamEndEvent):
            mark = p.peek_event().start_mark
            raise YamlError((mark.line + 1, mark.column + 1), "one journey per file: a second YAML document starts here")
        return data

    def node(self, path: Path, depth: int) -> Any:
        ev = self.parser.get_event()
        pos = (ev.start_mark.line + 1, ev.start_mark.column + 1)
        self.doc.values[path] = pos
        if isinstance(ev, AliasEvent):
            self.errors.append((pos, f"aliases (*{ev.anchor}) are not allowed: write the value out"))
            return None
        if ev.anchor:
            self.errors.append((pos, f"anchors (&{ev.anchor}) are not allowed: write the value out"))
        if ev.tag and ev.tag != "!" and not (isinstance(ev, CollectionStartEvent) and ev.implicit):
            self.errors.append((pos, f"tags ({ev.tag}) are not allowed: quote the value instead"))
        if isinstance(ev, ScalarEvent):
            return self.scalar(ev, path, pos)
        if depth >= MAX_DEPTH:
            # Stop here, like a syntax error: reading on would meet libyaml's own limit (1000
            # levels since PyYAML 6.0.3) in one build and not in another; this way every build
            # gives the same one error.
            raise YamlError(pos, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(ev, MappingStartEvent):
            return self.mapping(path, depth)
        items = []
        while not self.parser.check_event(SequenceEndEvent):
            items.append(self.node(path + (len(items),), depth + 1))
        self.parser.get_event()
        return items

    def mapping(self, path: Path, depth: int) -> dict[str, Any]:
        p = self.parser
        result: dict[str, Any] = {}
        while not p.check_event(MappingEndEvent):
            kev = p.peek_event()
            kpos = (kev.start_mark.line + 1, kev.start_mark.column + 1)
            if not isinstance(kev, ScalarEvent) or kev.anchor or kev.tag:
                self.errors.append((kpos, "keys must be plain text (no lists, mappings, anchors or tags)"))
                self.node(path + (object(),), depth + 1)
                self.node(path + (object(),), depth + 1)
                continue
            p.get_event()
            key = kev.value
            if not kev.style and (_BOOL11.match(key) or key in _BOOL or _NULL.match(key) or key == "<<"):
                what = {"<<": "a merge key"}.get(key, "null" if _NULL.match(key) else "a boolean in YAML")
                self.errors.append((kpos, f'key {key} is {what}; quote it if you mean the text: "{key}"'))
            if key in result:
                first = self.doc.keys[path + (key,)][0]
                self.errors.append((kpos, f'duplicate key "{key}" (first at line {first})'))
                self.node(path + (object(),), depth + 1)
                continue
            self.doc.keys[path + (key,)] = kpos
            result[key] = self.node(path + (key,), depth + 1)
        p.get_event()
        return result


    def scalar(self, ev: ScalarEvent, path: Path, pos: Pos) -> Any:
        value = ev.value
        style = ev.style or ""
        self.doc.spans[path] = ScalarSpan(ev.start_mark.index, ev.start_mark.line, ev.start_mark.column, style)
        if style or ev.tag == "!":
            return value
        return self.resolve_plain(value, pos)

    def resolve_plain(self, value: str, pos: Pos) -> Any:
        if _NULL.match(value):
            return None
        if value in _BOOL:
            return _BOOL[value]
        if _INT.match(value):
            return int(value)
        if _FLOAT.match(value):
            return float(value)
        problem = None
        if _BOOL11.match(value):
            problem = f"{value} is a boolean in YAML 1.1; write true/false, or quote it: \"{value}\""
        elif _SEXAGESIMAL.match(value):
            problem = f'{value} is a base-60 number in YAML 1.1; quote it: "{value}"'
        elif _OCTAL11.match(value):
            problem = f'{value} is an octal number in YAML 1.1; drop the leading zero or quote it: "{value}"'
        elif _OTHER_BASE.match(value):
            problem = f'write numbers in plain decimal, or quote it: "{value}"'
        elif _INF_NAN.match(value):
            problem = f"{value} is not a number a journey can use"
        if problem:
            self.errors.append((pos, problem))
        return value
