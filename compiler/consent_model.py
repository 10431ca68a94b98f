"""The consent model (`journeys/consent.yaml`, schema `schemas/consent.schema.json`).

Declares the channels and purposes consent is asked for, the exact wording people are shown
with its version, and which purposes the preference page offers. Loaded with the compiler's
strict positioned YAML loader, so every mistake is reported as `file:line:col: message`.

Public API:
    load_consent_model(path) -> ConsentModel          (raises ConsentModelError)
    check_consent_model(path) -> (ConsentModel | None, [Diagnostic])
    validate_consent_file(path) -> [Diagnostic]       (registered for `cli.py validate`)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from compiler.conditions import did_you_mean
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Diagnostic, Problems
from compiler.schema_check import SCHEMA_DIR
from compiler.yaml_loader import LoadedDoc, load_yaml

CONSENT_SCHEMA = SCHEMA_DIR / "consent.schema.json"
DEFAULT_PATH = Path("journeys") / "consent.yaml"
FILE_NAME = "consent.yaml"


@dataclass(frozen=True)
class Channel:
    name: str
    label: str


@dataclass(frozen=True)
class Purpose:
    name: str
    kind: str  # topic | processing | transactional
    label: str
    wording: str
    version: str
    channels: tuple[str, ...]
    preference_page: bool = False


@dataclass(frozen=True)
class ConsentModel:
    channels: tuple[Channel, ...]
    purposes: tuple[Purpose, ...]
    language: str = "en"
    organisation: str = ""

    def purpose(self, name: str) -> Purpose | None:
        return next((p for p in self.purposes if p.name == name), None)

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def on_preference_page(self) -> tuple[Purpose, ...]:
        """The purposes people see and change on the preference page, in declared order."""
        return tuple(p for p in self.purposes if p.preference_page)

    def wording_version(self, purpose: str) -> str | None:
        found = self.purpose(purpose)
        return found.version if found else None


class ConsentModelError(Exception):
    """The consent model file has mistakes; `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


@lru_cache(maxsize=None)
def consent_validator() -> Draft202012Validator:
    schema = json.loads(CONSENT_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _label(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "the consent model"


def _schema_errors(doc: LoadedDoc, problems: Problems) -> None:
    for error in consent_validator().iter_errors(doc.data):
        _describe(doc, problems, error)


def _describe(doc: LoadedDoc, problems: Problems, error: ValidationError) -> None:
    path, inst, schema = tuple(error.absolute_path), error.instance, error.schema
    label, custom = _label(path), schema.get("errorMessage") if isinstance(schema, dict) else None
    if error.validator == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(schema.get("properties", {}))
        for key in (k for k in inst if k not in allowed):
            where = f" in {label}" if path else ""
            problems.add(doc.key_pos(path + (key,)), f'unknown key "{key}"{where}{did_you_mean(key, allowed)}')
    elif error.validator == "required":
        for key in (k for k in error.validator_value if k not in inst):
            problems.add(doc.pos(path), f'{label}: missing key "{key}"')
    elif error.validator in ("propertyNames", "pattern") and _is_key(doc, path, inst):
        problems.add(doc.key_pos(path + (inst,)), f'{label}: name "{inst}" is invalid: {custom or error.message}')
    elif error.validator == "enum":
        choices = [str(v) for v in error.validator_value]
        hint = did_you_mean(str(inst), choices)
        problems.add(doc.pos(path), f'{label} "{inst}" is not one of {", ".join(choices)}{hint}')
    else:
        problems.add(doc.pos(path), f"{label}: {custom or error.message}")


def _is_key(doc: LoadedDoc, path: tuple[Any, ...], inst: Any) -> bool:
    """jsonschema reports a bad mapping key at the mapping's path, with the key as the instance."""
    node: Any = doc.data
    for part in path:
        node = node[part]
    return isinstance(node, dict) and isinstance(inst, str) and inst in node


def _cross_checks(doc: LoadedDoc, problems: Problems) -> None:
    """What the schema cannot say: purposes name declared channels; transactional is not optional."""
    channels = list(doc.data["channels"])
    for name, purpose in doc.data["purposes"].items():
        for i, channel in enumerate(purpose["channels"]):
            if channel not in channels:
                problems.add(
                    doc.pos(("purposes", name, "channels", i)),
                    f'purposes.{name}: channel "{channel}" is not declared under channels{did_you_mean(channel, channels)}',
                )
        if purpose["kind"] == "transactional" and purpose.get("preference_page"):
            problems.add(
                doc.pos(("purposes", name, "preference_page")),
                f"purposes.{name}: transactional messages need no consent, so they cannot be on the preference page",
            )


def _build(data: dict[str, Any]) -> ConsentModel:
    return ConsentModel(
        channels=tuple(Channel(name, c["label"]) for name, c in data["channels"].items()),
        purposes=tuple(
            Purpose(name, p["kind"], p["label"], p["wording"], p["version"], tuple(p["channels"]),
                    bool(p.get("preference_page", False)))
            for name, p in data["purposes"].items()
        ),
        language=data.get("language", "en"),
        organisation=data.get("organisation", ""),
    )


def check_consent_model(path: str | Path) -> tuple[ConsentModel | None, list[Diagnostic]]:
    """The model, or None and every mistake in the file."""
    from compiler.compile import read_source  # the compiler's size / UTF-8 checks

    path = Path(path)
    problems = Problems(str(path))
    text = read_source(path, problems)
    if text is None:
        return None, problems.sorted()
    doc, yaml_errors = load_yaml(text)
    for pos, message in yaml_errors:
        problems.add(pos, message)
    if doc.data is None and not yaml_errors:
        problems.add((1, 1), "the file is empty; a consent model declares channels: and purposes:")
    if problems:
        return None, problems.sorted()
    _schema_errors(doc, problems)
    if not problems:
        _cross_checks(doc, problems)
    if problems:
        return None, problems.sorted()
    return _build(doc.data), []


def load_consent_model(path: str | Path = DEFAULT_PATH) -> ConsentModel:
    """Load and check the consent model; ConsentModelError lists every mistake."""
    model, errors = check_consent_model(path)
    if model is None:
        raise ConsentModelError(errors)
    return model


def validate_consent_file(path: Path) -> list[Diagnostic]:
    return check_consent_model(path)[1]


CONFIG_VALIDATORS[FILE_NAME] = validate_consent_file
