"""The consent model (`journeys/consent.yaml`, schema `schemas/consent.schema.json`).

Declares the channels and purposes consent is asked for, the exact wording people are shown
with its version, and which purposes the preference page offers. Loaded with the compiler's
strict positioned YAML loader, so every mistake is reported as `file:line:col: message`.

Public API:
    load_consent_model(path) -> ConsentModel          (raises ConsentModelError)
    check_consent_model(path) -> (ConsentModel | None, [Diagnostic])
    (registered with `cli.py validate` through compiler.config_files)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.conditions import did_you_mean
from compiler.config_file import ConfigError, check_config, validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Diagnostic, Problems
from compiler.yaml_loader import LoadedDoc

SCHEMA_NAME = "consent"
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


class ConsentModelError(ConfigError):
    """The consent model file has mistakes; `diagnostics` says where and why."""


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


def _build(doc: LoadedDoc, problems: Problems) -> ConsentModel | None:
    _cross_checks(doc, problems)
    if problems:
        return None
    data = doc.data
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


EMPTY = "the file is empty; a consent model declares channels: and purposes:"


def check_consent_model(path: str | Path) -> tuple[ConsentModel | None, list[Diagnostic]]:
    """The model, or None and every mistake in the file."""
    return check_config(path, SCHEMA_NAME, _build, EMPTY)


def load_consent_model(path: str | Path = DEFAULT_PATH) -> ConsentModel:
    """Load and check the consent model; ConsentModelError lists every mistake."""
    model, errors = check_consent_model(path)
    if model is None:
        raise ConsentModelError(errors)
    return model


CONFIG_VALIDATORS[FILE_NAME] = validate_with(SCHEMA_NAME, _build, EMPTY)
