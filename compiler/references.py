"""Cross-file references: a name one file uses that another file defines, checked at validate
time (so also by `plan` / `apply`, which validate first), reported at the referencing value with a
did-you-mean.

| kind | used by | defined in |
| --- | --- | --- |
| segment | journey `entry.segment` | segments.yaml (`segment:` inside it: marketing/segments.py, with cycles) |
| stage | journey `set: {stage}` and `stage == "x"` / `stage in [...]` in `goal` and `when`; segments `stage:`; rules `stage:` and `if:` | stages.yaml |
| purpose | journey `policy.consent.<channel>`, a step's `purpose` (must cover the step's channel) | consent.yaml |
| team | journey `notify: {to}` and rules `notify: {to}` when not an address | teams.yaml |
| level | segments `score` + `level:` | global, stage:<stage>, and the levels named in scoring.yaml |

Templates and their layouts are checked by the journey compiler (compiler/templates.py), and
rules' `enrol:` journeys, `segment.entered:` segments and notify templates by marketing/rules.py.

Definitions come from the file of that name in the referencing file's folder; a folder without
one uses the file the runtime reads by default (segments: $NURTURE_SEGMENTS; all:
$NURTURE_JOURNEYS_DIR, else the shipped journeys/). A definitions file with errors makes its
references "cannot check" errors: nothing deploys on a file that does not validate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from compiler.conditions import did_you_mean
from compiler.diagnostics import Diagnostic, Problems
from compiler.yaml_loader import LoadedDoc

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "journeys"
MAX_LISTED = 12

Names = dict[str, tuple[str, ...]]  # name -> details (the channels of a consent purpose)


@dataclass(frozen=True)
class Kind:
    what: str  # as a message says it: "segment", "consent purpose"
    file: str  # the defining file's name
    schema: str
    names: Callable[[Any, Path], Names]  # (the file's data, its path) -> the names it defines
    uses: tuple[str, ...] = ()  # other kinds whose files `names` reads too (for the cache)


def _ids(key: str) -> Callable[[Any, Path], Names]:
    return lambda data, _path: {item["id"]: () for item in data.get(key) or []}


def _purposes(data: Any, _path: Path) -> Names:
    return {name: tuple(p.get("channels") or ()) for name, p in (data.get("purposes") or {}).items()}


def _levels(data: Any, path: Path) -> Names:
    """global, stage:<each stage>, and the levels scoring rules and temperatures name."""
    named = {level for rule in data.get("rules") or [] for level in rule.get("levels") or []}
    named |= set((data.get("temperature") or {}).get("levels") or {})
    stages = defined("stage", path.parent).names or {}
    return {name: () for name in sorted({"global"} | (named - {"stage"}) | {f"stage:{s}" for s in stages})}


KINDS: dict[str, Kind] = {
    "segment": Kind("segment", "segments.yaml", "segments", _ids("segments")),
    "stage": Kind("stage", "stages.yaml", "stages", _ids("stages")),
    "purpose": Kind("consent purpose", "consent.yaml", "consent", _purposes),
    "team": Kind("team", "teams.yaml", "teams", _ids("teams")),
    "level": Kind("score level", "scoring.yaml", "scoring", _levels, uses=("stage",)),
}


@dataclass(frozen=True)
class Defined:
    """What one definitions file declares: `names`, or None when `file` is missing or has errors."""

    file: Path
    names: Names | None
    exists: bool = True


def definitions_file(kind: str, folder: Path) -> Path:
    """The file defining `kind`'s names for files in `folder`."""
    name = KINDS[kind].file
    if (folder / name).is_file():
        return folder / name
    if kind == "segment" and os.environ.get("NURTURE_SEGMENTS"):
        return Path(os.environ["NURTURE_SEGMENTS"])
    return Path(os.environ.get("NURTURE_JOURNEYS_DIR") or DEFAULT_DIR) / name


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def defined(kind: str, folder: Path) -> Defined:
    """The names defining `kind` for files in `folder` (read again when a file it reads changes)."""
    path = definitions_file(kind, folder)
    mtime = _mtime(path)
    if mtime is None:
        return Defined(path, None, exists=False)
    others = tuple(_mtime(definitions_file(k, folder)) for k in KINDS[kind].uses)
    return _load(kind, str(path), (mtime, *others))


@lru_cache(maxsize=64)
def _load(kind: str, path: str, _mtimes: tuple[int | None, ...]) -> Defined:
    from compiler.config_file import load_doc

    doc = load_doc(Path(path), KINDS[kind].schema, Problems(path))
    return Defined(Path(path), KINDS[kind].names(doc.data, Path(path)) if doc is not None else None)


def problem(kind: str, name: str, folder: Path, channel: str | None = None) -> str | None:
    """What is wrong with a reference to `name` from a file in `folder`, or None.
    `channel`: for a consent purpose, the channel it must cover."""
    k, found = KINDS[kind], defined(kind, folder)
    if not found.exists:
        return f'unknown {k.what} "{name}": there is no {k.file} to define it (looked for {found.file})'
    if found.names is None:
        return f'cannot check {k.what} "{name}": {found.file} has errors (python cli.py validate {found.file})'
    if name not in found.names:
        known = sorted(found.names)
        listed = ", ".join(known[:MAX_LISTED]) + (", ..." if len(known) > MAX_LISTED else "")
        return f'unknown {k.what} "{name}"{did_you_mean(name, known)}; {found.file} defines: {listed or "none"}'
    covers = found.names[name]
    if channel is not None and channel not in covers:
        return f'{k.what} "{name}" does not cover {channel} (its channels in {found.file}: {", ".join(covers) or "none"})'
    return None


def stage_literals(source: str) -> list[tuple[int, str]]:
    """(0-based offset, text) of each string a condition compares `stage` with: `stage == "mql"`,
    `"sql" != stage`, `stage in ["lead", "mql"]`. A condition that does not parse has none
    (conditions.check reports it)."""
    import ast

    from compiler.conditions import _offset

    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, MemoryError, RecursionError):
        return []
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for a, b in zip(operands, operands[1:]):
            for name, other in ((a, b), (b, a)):
                if isinstance(name, ast.Name) and name.id == "stage":
                    values = other.elts if isinstance(other, (ast.List, ast.Tuple)) else [other]
                    out += [(_offset(source, v.lineno, v.col_offset), v.value) for v in values
                            if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return out


def is_team(to: str) -> bool:
    """A notify `to:` names a team unless it is an address."""
    return "@" not in to


# ---------------------------------------------------------------- references in config files

Ref = tuple[tuple[Any, ...], str, str, int | None]  # (path in the file, kind, name, offset in a condition)


def _walk_conditions(cond: Any, path: tuple[Any, ...]) -> Iterator[Ref]:
    if not isinstance(cond, dict):
        return
    stage = cond.get("stage")
    for j, name in enumerate(stage if isinstance(stage, list) else [stage]):
        if isinstance(name, str):
            yield (path + ("stage", j) if isinstance(stage, list) else path + ("stage",)), "stage", name, None
    if "score" in cond and isinstance(cond.get("level"), str):
        yield path + ("level",), "level", cond["level"], None
    for key in ("all", "any"):
        for j, kid in enumerate(cond.get(key) or []):
            yield from _walk_conditions(kid, path + (key, j))
    yield from _walk_conditions(cond.get("not"), path + ("not",))


def segments_refs(data: Any) -> Iterator[Ref]:
    for i, seg in enumerate(data.get("segments") or []):
        yield from _walk_conditions(seg.get("where"), ("segments", i, "where"))


def rules_refs(data: Any) -> Iterator[Ref]:
    for i, rule in enumerate(data.get("rules") or []):
        if isinstance(rule.get("if"), str):
            for offset, name in stage_literals(rule["if"]):
                yield ("rules", i, "if"), "stage", name, offset
        for j, action in enumerate(rule.get("then") or []):
            path = ("rules", i, "then", j)
            if isinstance(action.get("stage"), str):
                yield path + ("stage",), "stage", action["stage"], None
            to = (action.get("notify") or {}).get("to")
            if isinstance(to, str) and is_team(to):
                yield path + ("notify", "to"), "team", to, None


CONFIG_REFS: dict[str, tuple[str, Callable[[Any], Iterator[Ref]]]] = {
    "segments.yaml": ("segments", segments_refs),
    "rules.yaml": ("rules", rules_refs),
}


def check_config_references(path: Path) -> list[Diagnostic]:
    """The unresolved references of a config file (registered in CONFIG_REFS) that is itself valid."""
    from compiler.config_file import load_doc

    schema, refs = CONFIG_REFS[path.name]
    problems = Problems(str(path))
    doc: LoadedDoc | None = load_doc(path, schema, problems)
    if doc is None:
        return []  # the file's own validator reports why
    for where, kind, name, offset in refs(doc.data):
        message = problem(kind, name, path.parent)
        if message:
            problems.add(doc.pos(where) if offset is None else doc.pos_in(where, offset), message)
    return problems.sorted()
