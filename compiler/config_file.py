"""Loading the product's configuration files other than journeys (consent.yaml, sending.yaml,
scoring.yaml, stages.yaml, segments.yaml, rules.yaml, journeys/tests/*.yaml).

One way for all of them: the compiler's strict YAML loader (positions kept, YAML 1.1
surprises refused), then the file's JSON Schema from schemas/, then the file's own
`build` (cross-checks and typed result); every problem as `file:line:col: message`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

from jsonschema import Draft202012Validator, ValidationError

from compiler.conditions import did_you_mean
from compiler.diagnostics import Diagnostic, Problems
from compiler.schema_check import SCHEMA_DIR, exclusive_keys, fault_pos
from compiler.yaml_loader import LoadedDoc

T = TypeVar("T")
Build = Callable[[LoadedDoc, Problems], T]


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


def label(path: tuple[Any, ...]) -> str:
    """`purposes.marketing.channels[0]`: where in the file, as a person reads it."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "the file"


def describe(doc: LoadedDoc, problems: Problems, error: ValidationError) -> None:
    """One schema error as a positioned, plain message (unknown keys with did-you-mean)."""
    path, inst, schema = tuple(error.absolute_path), error.instance, error.schema
    where, custom = label(path), schema.get("errorMessage") if isinstance(schema, dict) else None
    if error.validator == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in (k for k in inst if k not in allowed):
            inside = f" in {where}" if path else ""
            problems.add(doc.key_pos(path + (key,)), f'unknown key "{key}"{inside}{did_you_mean(key, allowed)}')
    elif error.validator == "required":
        for key in (k for k in error.validator_value if k not in inst):
            problems.add(doc.pos(path), f'{where}: missing key "{key}"')
    elif error.validator in ("propertyNames", "pattern") and _is_key(doc, path, inst):
        problems.add(doc.key_pos(path + (inst,)), f'{where}: name "{inst}" is invalid: {custom or error.message}')
    elif error.validator == "enum":
        choices = [str(v) for v in error.validator_value]
        problems.add(doc.pos(path), f'{where} "{inst}" is not one of {", ".join(choices)}{did_you_mean(str(inst), choices)}')
    elif together := exclusive_keys(error):  # at the second of two keys that exclude each other
        problems.add(fault_pos(doc, error), f'{where}: "{together[1]}" cannot go with "{together[0]}"')
    else:
        problems.add(fault_pos(doc, error), f"{where}: {custom or error.message}")


def _is_key(doc: LoadedDoc, path: tuple[Any, ...], inst: Any) -> bool:
    """jsonschema reports a bad mapping key at the mapping's path, with the key as the instance."""
    node: Any = doc.data
    for part in path:
        node = node[part]
    return isinstance(node, dict) and isinstance(inst, str) and inst in node


def load_doc(path: Path, schema_name: str, problems: Problems, empty: str = "the file is empty") -> LoadedDoc | None:
    """The parsed file if it is valid YAML and fits its schema; problems otherwise."""
    from compiler.compile import load_document  # the compiler's size / UTF-8 / strict YAML reading

    doc, _ = load_document(path, problems, empty)
    if doc is None or problems:
        return None
    for error in sorted(validator(schema_name).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        describe(doc, problems, error)
    return None if problems else doc


def check_config(path: str | Path, schema_name: str, build: Build[T], empty: str = "the file is empty") -> tuple[T | None, list[Diagnostic]]:
    """The built config, or None and every mistake in the file."""
    path = Path(path)
    problems = Problems(str(path))
    doc = load_doc(path, schema_name, problems, empty)
    result = build(doc, problems) if doc is not None else None
    if problems or result is None:
        return None, problems.sorted() or [Diagnostic(str(path), 1, 1, "not usable")]
    return result, []


def load_config(path: str | Path, schema_name: str, build: Build[T], empty: str = "the file is empty") -> T:
    """Load, check and `build` a config file; ConfigError with every diagnostic if it is bad."""
    result, errors = check_config(path, schema_name, build, empty)
    if result is None:
        raise ConfigError(errors)
    return result


def validate_with(schema_name: str, build: Build[Any], empty: str = "the file is empty") -> Callable[[Path], list[Diagnostic]]:
    """A CONFIG_VALIDATORS entry: the file's diagnostics (none when it is fine)."""

    def check(path: Path) -> list[Diagnostic]:
        return check_config(path, schema_name, build, empty)[1]

    return check
