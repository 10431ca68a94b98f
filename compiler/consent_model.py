"""The consent model (`journeys/consent.yaml`, schema `schemas/consent.schema.json`).

Declares the channels and purposes consent is asked for, the exact wording people are shown
with its version, which purposes the preference page offers, and the words of the tracking
server's pages per locale (`pages:`, compiler/consent_pages.py). Loaded with the compiler's
strict positioned YAML loader, so every mistake is reported as `file:line:col: message`.

Public API:
    load_consent_model(path) -> ConsentModel          (raises ConsentModelError)
    ConsentModel.localized(contact_locale) -> Localized  (the pages' words for that contact)
    check_consent_model(path) -> (ConsentModel | None, [Diagnostic])
    (registered with `cli.py validate` through compiler.config_files)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from compiler.conditions import did_you_mean
from compiler.config_file import ConfigError, check_config, validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.consent_pages import ENGLISH, TEXTS, LocalePages, Localized, normal_locale, pick_locale, placeholders
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
    pages: Mapping[str, LocalePages] = field(default_factory=dict)  # locale -> words; {}: built-in English

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

    def localized(self, contact_locale: str | None = None) -> Localized:
        """The pages' words in the contact's locale (`es-MX`: es-mx, else es, else `language`)."""
        default = normal_locale(self.language)
        locale = pick_locale(contact_locale, self.pages, default)
        block = self.pages.get(locale) or LocalePages(ENGLISH)
        return Localized(
            lang=locale if locale in self.pages else self.language,
            pages=block,
            channel_labels={c.name: c.label for c in self.channels},
            purpose_texts={p.name: (p.label, p.wording) for p in self.purposes},
        )


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


def _check_texts(doc: LoadedDoc, problems: Problems, locale: str, texts: dict[str, Any]) -> None:
    """Each text uses only the placeholders its key offers."""
    for key, text in texts.items():
        if key not in TEXTS:
            continue
        where = ("pages", locale, key)
        try:
            used = placeholders(text)
        except ValueError as exc:
            problems.add(doc.pos(where), f"pages.{locale}.{key}: {exc} (write {{{{ or }}}} for a brace)")
            continue
        allowed = TEXTS[key]
        for name in (n for n in used if n not in allowed):
            offer = ", ".join("{" + a + "}" for a in allowed) or "none"
            problems.add(doc.pos(where), f"pages.{locale}.{key}: unknown placeholder {{{name}}} (this text may use: "
                                         f"{offer}){did_you_mean(name, allowed)}")


def _check_translations(doc: LoadedDoc, problems: Problems, locale: str, block: dict[str, Any]) -> None:
    """A locale other than the default translates every channel and purpose, from the current wording."""
    data = doc.data
    for section in ("channels", "purposes"):
        declared = list(data[section])
        given = block.get(section) or {}
        at = ("pages", locale, section) if section in block else ("pages", locale)
        missing = [name for name in declared if name not in given]
        if missing:
            problems.add(doc.key_pos(at), f'pages.{locale}: no translation of {section} {", ".join(missing)} '
                                          f"(every one declared under {section}: is needed)")
        for name in given:
            if name not in declared:
                problems.add(doc.key_pos(at + (name,)), f'pages.{locale}.{section}: "{name}" is not declared under '
                                                        f"{section}{did_you_mean(name, declared)}")
    for name, purpose in (block.get("purposes") or {}).items():
        current = data["purposes"].get(name, {}).get("version")
        if current is not None and purpose["version"] != current:
            problems.add(doc.pos(("pages", locale, "purposes", name, "version")),
                         f'pages.{locale}.purposes.{name}: translates wording version "{purpose["version"]}", '
                         f'but the wording is now version "{current}": update the translation and its version')


def _check_pages(doc: LoadedDoc, problems: Problems) -> None:
    pages = doc.data.get("pages")
    if not pages:
        return
    default = normal_locale(doc.data.get("language", "en"))
    if default not in pages:
        problems.add(doc.key_pos(("pages",)), f'pages: no texts for the default language "{default}"'
                                              f"{did_you_mean(default, list(pages))}")
    for locale, block in pages.items():
        _check_texts(doc, problems, locale, block)
        if locale == default:
            for section in ("channels", "purposes"):
                if section in block:
                    problems.add(doc.key_pos(("pages", locale, section)),
                                 f"pages.{locale}.{section}: the default language's words are the ones declared "
                                 f"under {section}: (remove this)")
        else:
            _check_translations(doc, problems, locale, block)


def _locale_pages(block: dict[str, Any]) -> LocalePages:
    return LocalePages(
        texts={key: block[key] for key in TEXTS},
        channels=dict(block.get("channels") or {}),
        purposes={name: (p["label"], p["wording"]) for name, p in (block.get("purposes") or {}).items()},
    )


def _build(doc: LoadedDoc, problems: Problems) -> ConsentModel | None:
    _cross_checks(doc, problems)
    _check_pages(doc, problems)
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
        pages={locale: _locale_pages(block) for locale, block in (data.get("pages") or {}).items()},
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
