"""How a deployment's files differ from the live deployment's, for `plan`: configuration files
in their own YAML terms (`~ rule email-open: cap.points: 5 -> 50`, `+ rule pricing-visit`,
`decay.after: 30d -> 14d`), segments with how many contacts would enter and leave (counted in
the store under both definitions, marketing/segments.py), templates as a unified diff of their
text. Journey files are not listed here: their changes are the journeys' own plan."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
import tempfile
from pathlib import Path
from typing import Any

import yaml

from compiler.config_files import CONFIG_FILE_NAMES
from compiler.yaml_terms import ABSENT, changes, render
from deploy.diff import field_changes


@dataclass(frozen=True)
class ConfigChange:
    """A configuration file (scoring.yaml, ...) that differs from the live deployment's."""
    name: str
    action: str  # new | changed | removed
    details: tuple[str, ...] = ()  # in the file's terms: "~ rule email-open: cap.points: 5 -> 50"
    unified: tuple[str, ...] = ()  # a template's text: a unified diff


NOUNS = {"rules": "rule", "segments": "segment", "stages": "stage", "teams": "team", "forms": "form",
         "purposes": "purpose", "channels": "channel"}


def _load(text: str | None) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _by_id(value: Any) -> dict[str, Any] | None:
    """A list of mappings that all have an `id`, keyed by it (None for anything else)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        return {str(v["id"]): {k: x for k, x in v.items() if k != "id"} for v in value}
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    return None


def yaml_changes(old_text: str | None, new_text: str | None) -> list[str]:
    """What changed between two versions of a config file, in the file's terms."""
    old, new = _load(old_text), _load(new_text)
    out: list[str] = []
    for key in list(new) + [k for k in old if k not in new]:
        a, b = old.get(key, ABSENT), new.get(key, ABSENT)
        if a == b:
            continue
        items_a, items_b = _by_id(a if a is not ABSENT else []) or {}, _by_id(b if b is not ABSENT else []) or {}
        if key in NOUNS and (items_a or items_b):
            noun = NOUNS[key]
            for item, body in items_b.items():
                if item not in items_a:
                    out.append(f"+ {noun} {item}")
                elif items_a[item] != body:
                    out.append(f"~ {noun} {item}: " + "; ".join(field_changes(_dict(items_a[item]), _dict(body))))
            out += [f"- {noun} {item}" for item in items_a if item not in items_b]
        else:
            out += [f"{path}: {render(x)} -> {render(y)}" for path, x, y in changes(a, b, str(key))]
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def unified(name: str, old: str | None, new: str | None) -> list[str]:
    return [line.rstrip("\n") for line in difflib.unified_diff(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True),
        fromfile=f"a/{name}", tofile=f"b/{name}")]


def _write(files: dict[str, str], folder: Path) -> Path:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def segment_moves(store: Any, old: dict[str, str], new: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Segment id -> (contacts that would enter, contacts that would leave) for every segment
    whose definition differs, counted in the store under the live and the new definitions."""
    from marketing.segments import FILE_NAME, load_segments, segment_members

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        defs = []
        for files, folder in ((old, Path(a)), (new, Path(b))):
            try:
                defs.append(load_segments(_write(files, folder) / FILE_NAME) if FILE_NAME in files else {})
            except Exception:  # noqa: BLE001 - the live file may no longer load here: count from nothing
                defs.append({})
        before, after = defs
        out: dict[str, tuple[int, int]] = {}
        for seg in sorted(set(before) | set(after)):
            if seg in before and seg in after and before[seg] == after[seg]:
                continue
            was = set(segment_members(store, seg, segments=before)) if seg in before else set()
            now = set(segment_members(store, seg, segments=after)) if seg in after else set()
            out[seg] = (len(now - was), len(was - now))
    return out


def config_changes(store: Any, files: dict[str, str] | None, base_id: int) -> list[ConfigChange]:
    """The config files and templates that differ from the live deployment's (all of them new
    before the first deployment)."""
    if files is None:
        return []
    live = store.get_deployment(base_id) if base_id else None
    old = {n: store.file_content(h) or "" for n, h in live.files.items()} if live else {}
    out: list[ConfigChange] = []
    for name in sorted(set(old) | set(files)):
        a, b = old.get(name), files.get(name)
        if a == b or not (name in CONFIG_FILE_NAMES or name.startswith("templates/")):
            continue
        action = "new" if a is None else "removed" if b is None else "changed"
        if name.startswith("templates/"):  # a template comes and goes with its journeys: shown when edited
            if action == "changed":
                out.append(ConfigChange(name, action, (), tuple(unified(name, a, b))))
            continue
        details = yaml_changes(a, b) if action == "changed" else []
        if name == "segments.yaml":
            moves = segment_moves(store, _subset(old), _subset(files))
            details = [_with_moves(d, moves) for d in details]
        out.append(ConfigChange(name, action, tuple(details)))
    return out


def _subset(files: dict[str, str]) -> dict[str, str]:
    """What loading segments.yaml needs next to it (the config files it may refer to)."""
    return {n: c for n, c in files.items() if n in CONFIG_FILE_NAMES}


def _with_moves(line: str, moves: dict[str, tuple[int, int]]) -> str:
    parts = line.split(" ", 2)
    if len(parts) >= 3 and parts[1] == "segment":
        seg = parts[2].split(":", 1)[0]
        if seg in moves:
            enter, leave = moves[seg]
            return f"{line} ({enter} contact(s) would enter, {leave} leave)"
    return line
