"""Loading a marketing config file (scoring.yaml, stages.yaml): the compiler's strict YAML
loader, then its JSON Schema, every problem reported as `file:line:col: message`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

from jsonschema import Draft202012Validator

from compiler.compile import read_source
from compiler.diagnostics import Diagnostic, Problems
from compiler.schema_check import SCHEMA_DIR
from compiler.yaml_loader import LoadedDoc, load_yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file that cannot be used; `diagnostics` say where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


@lru_cache(maxsize=None)
def validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{schema_name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the file"


def load_doc(path: Path, schema_name: str, problems: Problems) -> LoadedDoc | None:
    """The parsed file if it is valid YAML and fits its schema; problems otherwise."""
    text = read_source(path, problems)
    if text is None:
        return None
    doc, yaml_errors = load_yaml(text)
    for pos, message in yaml_errors:
        problems.add(pos, message)
    if doc.data is None or yaml_errors:
        if doc.data is None and not yaml_errors:
            problems.add((1, 1), "the file is empty")
        return None
    for error in sorted(validator(schema_name).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(error.absolute_path)
        pos = doc.pos(where)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in allowed:
                    problems.add(doc.key_pos(where + (key,)), f'{_where(where)}: unknown key "{key}" (known: {", ".join(sorted(allowed))})')
            continue
        hint = error.schema.get("description") if isinstance(error.schema, dict) else None
        if hint and error.validator in ("pattern", "not", "enum", "const"):
            problems.add(pos, f"{_where(where)}: {error.instance!r} is invalid: {hint}")
        else:
            problems.add(pos, f"{_where(where)}: {error.message}")
    return None if problems else doc


def load_config(path: str | Path, schema_name: str, build: Callable[[LoadedDoc, Problems], T]) -> T:
    """Load, check and `build` a config file; ConfigError with every diagnostic if it is bad."""
    path = Path(path)
    problems = Problems(str(path))
    doc = load_doc(path, schema_name, problems)
    result = build(doc, problems) if doc is not None else None
    if problems or result is None:
        raise ConfigError(problems.sorted() or [Diagnostic(str(path), 1, 1, "not usable")])
    return result


def validate_with(schema_name: str, build: Callable[[LoadedDoc, Problems], Any]) -> Callable[[Path], list[Diagnostic]]:
    """A CONFIG_VALIDATORS entry: the file's diagnostics (none when it is fine)."""

    def check(path: Path) -> list[Diagnostic]:
        try:
            load_config(path, schema_name, build)
        except ConfigError as exc:
            return exc.diagnostics
        return []

    return check
