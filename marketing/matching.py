"""Conditions on an event's data, shared by scoring and stage rules:
`{field: url, contains: /pricing}`, `{field: plan, in: [pro, team]}`, `equals`, `matches` (regex).

`field` is a dotted path into the event data; `contains` is a case-insensitive substring test;
`matches` is `re.search`. A missing field never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc

OPERATORS = ("equals", "contains", "matches", "in")
_MISSING = object()


@dataclass(frozen=True)
class DataCondition:
    field: str
    op: str
    value: Any

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "DataCondition":
        """Build from the YAML shape (already schema-checked); ValueError for a bad regex."""
        op = next(o for o in OPERATORS if o in raw)
        value = raw[op]
        if op == "matches":
            try:
                value = re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {raw[op]!r}: {exc}") from None
        elif op == "contains":
            value = str(value).lower()
        elif op == "in":
            value = tuple(value)
        return cls(raw["field"], op, value)

    def holds(self, data: dict[str, Any]) -> bool:
        found = lookup(data, self.field)
        if found is _MISSING or found is None:
            return False
        if self.op == "equals":
            return found == self.value or str(found) == str(self.value)
        if self.op == "contains":
            return self.value in str(found).lower()
        if self.op == "matches":
            return self.value.search(str(found)) is not None
        return found in self.value or str(found) in map(str, self.value)


def lookup(data: dict[str, Any], dotted: str) -> Any:
    """`data["a"]["b"]` for "a.b"; _MISSING when any part is absent."""
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def build_conditions(doc: LoadedDoc, path: tuple[Any, ...], problems: Problems) -> tuple[DataCondition, ...]:
    """The `where:` list at `path` in `doc`; a bad regex is reported at its position."""
    out = []
    for i, item in enumerate(_at(doc.data, path) or ()):
        try:
            out.append(DataCondition.from_dict(item))
        except ValueError as exc:
            problems.add(doc.pos(path + (i, "matches")), str(exc))
    return tuple(out)


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
