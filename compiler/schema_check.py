"""Schema errors as people read them: one message per mistake, at the offending node.

`schemas/journey.schema.json` is the single source of the format; this module only
turns jsonschema's errors into `line:col` messages (did-you-mean for keys, step types
and enum values; the schema's own `errorMessage` texts where it has them).
"""

from __future__ import annotations

import json
from functools import lru_cache
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from compiler.conditions import did_you_mean
from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc

# a checkout's schemas/, else where a wheel install puts them (pyproject's data-files: the
# `nurture` console script, the pre-commit hooks)
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
if not SCHEMA_DIR.is_dir():
    SCHEMA_DIR = Path(sys.prefix) / "share" / "nurture" / "schemas"
JOURNEY_SCHEMA = SCHEMA_DIR / "journey.schema.json"

# Keywords where the schema's `errorMessage` replaces the generic text.
_MESSAGE_KEYWORDS = {"pattern", "enum", "const", "type", "anyOf", "oneOf", "not", "minProperties", "maxProperties"}
_JSON_TYPES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "empty",
}


@lru_cache(maxsize=None)
def journey_validator() -> Draft202012Validator:
    """The journey schema, checked and compiled once per process."""
    schema = json.loads(JOURNEY_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@lru_cache(maxsize=None)
def fast_validator() -> Callable[[Any], bool]:
    """A compiled (Rust) validator of the same schema: most files are valid, and this says
    so in microseconds; only an invalid file pays for python-jsonschema's detailed errors."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the slow path still works
        return journey_validator().is_valid
    return jsonschema_rs.validator_for(journey_validator().schema).is_valid


def check_schema(doc: LoadedDoc, problems: Problems, quiet_at: set[tuple[int, int]] = frozenset()) -> set[tuple[Any, ...]]:  # type: ignore[assignment]
    """Report every schema error (except at the positions in `quiet_at`); return the paths that had one."""
    if fast_validator()(doc.data):
        return set()
    validator = journey_validator()
    bad: set[tuple[Any, ...]] = set()
    for error in _leaf_errors(validator.iter_errors(doc.data)):
        path = tuple(error.absolute_path)
        for pos, message in _describe(validator, doc, error):
            if pos not in quiet_at:
                problems.add(pos, message)
            bad.add(path)
    return bad


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """Descend into anyOf/oneOf when exactly one branch fits the value's shape."""
    for error in errors:
        branch = _fitting_branch(error) if error.validator in ("anyOf", "oneOf") and error.context else None
        if branch is None:
            yield error
        else:
            yield from _leaf_errors(branch)


def _fitting_branch(error: ValidationError) -> list[ValidationError] | None:
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errs
        for errs in branches.values()
        if not any(e.validator in ("type", "enum", "const") and not e.relative_path for e in errs)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _label(doc: LoadedDoc, path: tuple[Any, ...]) -> str:
    """'step "welcome": template', 'policy.quiet_hours', 'entry' ..."""
    head, parts = "", list(path)
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        step = doc.data["steps"][parts[1]] if isinstance(doc.data, dict) else None
        sid = step.get("id") if isinstance(step, dict) else None
        head = f'step "{sid}"' if isinstance(sid, str) else f"step {parts[1] + 1}"
        parts = parts[2:]
    tail = ""
    for p in parts:
        tail += f"[{p}]" if isinstance(p, int) else (f".{p}" if tail else str(p))
    if head and tail:
        return f"{head}: {tail}"
    return head or tail


def _value(instance: Any) -> str:
    return f'"{instance}"' if isinstance(instance, str) else json.dumps(instance, default=str)[:60]


def _kind(instance: Any) -> str:
    for name, cls in (("true or false", bool), ("a number", (int, float)), ("text", str)):
        if isinstance(instance, cls):
            return name
    if isinstance(instance, dict):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    return "empty"


def exclusive_keys(error: ValidationError) -> list[str]:
    """The keys, in the file's order, that a mapping has together although they exclude each other
    (`not: {required: [a, b]}`, or a `oneOf` of `required` branches valid under several); [] if none."""
    inst, kw, value = error.instance, error.validator, error.validator_value
    names: list[str] = []
    if not isinstance(inst, dict):
        return []
    if kw == "not" and isinstance(value, dict):
        names = list(value.get("required", ()))
    elif kw in ("oneOf", "anyOf") and not error.context and isinstance(value, list):  # valid under several
        names = [k for branch in value if isinstance(branch, dict) for k in branch.get("required", ())]
    present = [k for k in inst if k in names]
    return present if len(present) >= 2 else []


def offending_key(error: ValidationError) -> str | None:
    """The key of a mapping that makes it wrong, for errors jsonschema reports at the mapping:
    the second of keys that exclude each other, the first key beyond `maxProperties`, the key a
    `dependentRequired` rule starts from. None when the mapping as a whole is wrong (a key is
    missing): then the error belongs at the mapping."""
    inst, kw, value = error.instance, error.validator, error.validator_value
    if not isinstance(inst, dict):
        return None
    if kw == "maxProperties" and len(inst) > value:
        return list(inst)[value]
    if kw == "dependentRequired":
        return next((k for k, needs in value.items() if k in inst and any(d not in inst for d in needs)), None)
    together = exclusive_keys(error)
    return together[1] if together else None


def fault_pos(doc: LoadedDoc, error: ValidationError) -> tuple[int, int]:
    """Where a schema error points: at the offending key (see `offending_key`), else at the value."""
    path = tuple(error.absolute_path)
    key = offending_key(error)
    return doc.key_pos(path + (key,)) if key is not None else doc.pos(path)


def _describe(validator: Draft202012Validator, doc: LoadedDoc, error: ValidationError) -> list[tuple[tuple[int, int], str]]:
    path = tuple(error.absolute_path)
    label = _label(doc, path)
    pos = fault_pos(doc, error)
    kw, inst, schema = error.validator, error.instance, error.schema
    custom = schema.get("errorMessage") if isinstance(schema, dict) else None
    if kw == "unevaluatedProperties":
        return _unknown_keys(validator, doc, path, inst, schema)
    if kw == "required":
        return [(pos, f'{label + ": " if label else ""}missing key "{k}"') for k in error.validator_value if k not in inst]
    if kw == "dependentRequired":
        return [(doc.key_pos(path + (k,)), f'{label}: "{k}" needs "{d}" too')
                for k, deps in error.validator_value.items() if k in inst for d in deps if d not in inst]
    if kw == "propertyNames":
        return [(doc.key_pos(path + (inst,)), f'{label}: name "{inst}" is invalid: {custom or "see the schema"}')]
    if kw == "type" and not path:
        return [(pos, f"a journey file is a mapping of keys (journey, entry, steps, ...), not {_kind(inst)}")]
    if kw == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(_JSON_TYPES.get(t, t) for t in expected)
        hint = f" ({custom})" if isinstance(custom, str) else ""
        return [(pos, f"{label} must be {wanted}, not {_kind(inst)}{hint}")]
    hint = ""
    if kw == "enum":
        hint = did_you_mean(str(inst), [str(v) for v in error.validator_value])
    if isinstance(custom, str) and kw in _MESSAGE_KEYWORDS:
        together = exclusive_keys(error)
        if together:
            return [(pos, f'{label}: {custom}; "{together[1]}" cannot go with "{together[0]}"')]
        if isinstance(inst, (dict, list)):
            return [(pos, f"{label}: {custom}")]
        return [(pos, f"{label} {_value(inst)} is invalid{hint}: {custom}")]
    generic = {
        "enum": lambda: f"{label} {_value(inst)} is not one of {', '.join(map(str, error.validator_value))}{hint}",
        "const": lambda: f"{label} must be {_value(error.validator_value)}",
        "pattern": lambda: f"{label} {_value(inst)} does not match {error.validator_value}",
        "minimum": lambda: f"{label} must be at least {error.validator_value}, not {inst}",
        "maximum": lambda: f"{label} must be at most {error.validator_value}, not {inst}",
        "minItems": lambda: f"{label} needs at least {error.validator_value} item(s)",
        "uniqueItems": lambda: f"{label} lists the same value twice",
        "minLength": lambda: f"{label} must not be empty",
        "minProperties": lambda: f"{label} must not be empty",
    }
    make = generic.get(kw)
    return [(pos, make() if make else f"{label}: {error.message}")]


def _unknown_keys(
    validator: Draft202012Validator, doc: LoadedDoc, path: tuple[Any, ...], inst: Any, schema: dict[str, Any]
) -> list[tuple[tuple[int, int], str]]:
    if not isinstance(inst, dict):
        return []
    is_step = len(path) == 2 and path[0] == "steps"
    types = journey_validator().schema["$defs"]["step"]["properties"]["type"]["enum"]
    if is_step and inst.get("type") not in types:
        return []  # the type error says it all; its fields cannot be judged
    allowed = sorted(_allowed_keys(validator, schema, inst))
    where = f" in {_label(doc, path)}" if path else ""
    if is_step:
        where += f" ({inst['type']})"
    return [
        (doc.key_pos(path + (k,)), f'unknown key "{k}"{where}{did_you_mean(k, allowed)}')
        for k in inst
        if k not in allowed
    ]


def _allowed_keys(validator: Draft202012Validator, schema: Any, inst: dict[str, Any]) -> set[str]:
    """Every property name the schema could accept for `inst` (if/then: only the matching then)."""
    if not isinstance(schema, dict):
        return set()
    keys = set(schema.get("properties", {}))
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        keys |= _allowed_keys(validator, validator.schema["$defs"][ref.rsplit("/", 1)[1]], inst)
    for kw in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(kw, ()):
            keys |= _allowed_keys(validator, sub, inst)
    if "if" in schema and validator.evolve(schema=schema["if"]).is_valid(inst):
        keys |= _allowed_keys(validator, schema.get("then"), inst)
    return keys
