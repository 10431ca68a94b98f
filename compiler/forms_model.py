"""Hosted subscribe forms (`journeys/forms.yaml`, schema `schemas/forms.schema.json`), served at
`/f/<form>` by the tracking server (tracking/forms.py).

Each form names the contact fields it asks for, the consent it offers (a purpose and channel of
the consent.yaml next to it, with the wording version shown: it must be the current one, so a
wording change makes `validate` ask for the form to be reviewed), its texts per locale, an
optional redirect, the origins that may embed it and a per-IP rate limit. Checked by
`cli.py validate` with `file:line:col` like the other config files.

Public API:
    load_forms(path) -> Forms            (raises FormsError)
    Forms.get(form_id) -> Form | None
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from compiler.conditions import did_you_mean
from compiler.config_file import ConfigError, check_config, validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.consent_pages import normal_locale, pick_locale
from compiler.diagnostics import Diagnostic, Problems
from compiler.yaml_loader import LoadedDoc

FILE_NAME = "forms.yaml"
SCHEMA_NAME = "forms"
DEFAULT_RATE_LIMIT = "10/hour"
CONFIRMED_BY = "email"  # the channel of the double opt-in link (activities/email.confirm_url)
EMPTY = "the file is empty; it declares forms: with their fields, consent and texts"


@dataclass(frozen=True)
class Field:
    name: str  # a contact field: email, phone, first_name, last_name
    required: bool


@dataclass(frozen=True)
class ConsentOffer:
    purpose: str
    channel: str
    version: str  # the wording version shown (consent.yaml's current one when validated)
    required: bool


@dataclass(frozen=True)
class Form:
    id: str
    fields: tuple[Field, ...]
    consent: tuple[ConsentOffer, ...]
    texts: Mapping[str, Mapping[str, Any]]  # locale -> texts (title, submit, ..., fields: {name: label})
    locale: str
    redirect: str | None = None
    allowed_origins: tuple[str, ...] = ()
    rate_limit: str = DEFAULT_RATE_LIMIT

    def pick_locale(self, wanted: list[str]) -> str:
        """The first of `wanted` (es-MX, es, ...) the form has texts for, else its own locale."""
        for candidate in wanted:
            found = pick_locale(candidate, self.texts, "")
            if found:
                return found
        return self.locale


@dataclass(frozen=True)
class Forms:
    forms: Mapping[str, Form]

    def get(self, form_id: str) -> Form | None:
        return self.forms.get(form_id)


class FormsError(ConfigError):
    """forms.yaml has mistakes; `diagnostics` says where and why."""


def _consent_model(problems: Problems) -> Any:
    """The consent.yaml next to forms.yaml, or None (its own validation reports its mistakes)."""
    from compiler.consent_model import check_consent_model

    path = Path(problems.path).parent / "consent.yaml"
    return check_consent_model(path)[0] if path.exists() else None


def _check_offer(doc: LoadedDoc, problems: Problems, at: tuple[Any, ...], offer: dict[str, Any], model: Any) -> None:
    if model is None:
        problems.add(doc.pos(at), "no usable consent.yaml next to forms.yaml: the purposes offered cannot be checked")
        return
    names = [p.name for p in model.purposes if p.kind != "transactional"]
    purpose = model.purpose(offer["purpose"])
    if purpose is None or purpose.kind == "transactional":
        why = "is transactional (it needs no consent)" if purpose else "is not declared in consent.yaml"
        problems.add(doc.pos(at + ("purpose",)), f'purpose "{offer["purpose"]}" {why}{did_you_mean(offer["purpose"], names)}')
        return
    if offer["channel"] != CONFIRMED_BY:
        problems.add(doc.pos(at + ("channel",)), f'channel "{offer["channel"]}": a form offers {CONFIRMED_BY} consent '
                                                 f"only (the double opt-in link that confirms it is sent by {CONFIRMED_BY})")
    elif offer["channel"] not in purpose.channels:
        problems.add(doc.pos(at + ("channel",)), f'purpose "{purpose.name}" does not cover channel "{offer["channel"]}" '
                                                 f'(it covers {", ".join(purpose.channels)})')
    if offer["version"] != purpose.version:
        problems.add(doc.pos(at + ("version",)), f'wording version "{offer["version"]}" is not the current one of '
                                                 f'"{purpose.name}" in consent.yaml ("{purpose.version}"): review the '
                                                 f"form with the new wording, then update its version")


def _check_form(doc: LoadedDoc, problems: Problems, form_id: str, form: dict[str, Any], model: Any) -> None:
    base = ("forms", form_id)
    names: list[str] = []
    for i, f in enumerate(form["fields"]):
        if f["name"] in names:
            problems.add(doc.pos(base + ("fields", i, "name")), f'field "{f["name"]}" is asked twice')
        names.append(f["name"])
    email = next((f for f in form["fields"] if f["name"] == "email"), None)
    if email is None or not email.get("required"):
        problems.add(doc.pos(base + ("fields",)), "a subscribe form needs a required email field (the confirmation "
                                                  "link of the double opt-in goes there)")
    seen: set[tuple[str, str]] = set()
    for i, offer in enumerate(form["consent"]):
        key = (offer["purpose"], offer["channel"])
        if key in seen:
            problems.add(doc.pos(base + ("consent", i)), f"{key[0]} by {key[1]} is offered twice")
        seen.add(key)
        _check_offer(doc, problems, base + ("consent", i), offer, model)
    locales = list(form["texts"])
    if "locale" in form and form["locale"] not in locales:
        problems.add(doc.pos(base + ("locale",)), f'no texts for the form\'s locale "{form["locale"]}"'
                                                  f"{did_you_mean(form['locale'], locales)}")
    consent_locales = set(model.pages) if model is not None and model.pages else {normal_locale(model.language) if model else "en"}
    for locale, texts in form["texts"].items():
        where = base + ("texts", locale)
        missing = [n for n in names if n not in texts["fields"]]
        if missing:
            problems.add(doc.key_pos(where + ("fields",)), f"texts.{locale}.fields: no label for {', '.join(missing)}")
        for extra in (n for n in texts["fields"] if n not in names):
            problems.add(doc.key_pos(where + ("fields", extra)), f'texts.{locale}.fields: "{extra}" is not a field of '
                                                                 f"this form")
        if model is not None and pick_locale(locale, {k: 1 for k in consent_locales}, "") == "":
            problems.add(doc.key_pos(where), f'texts.{locale}: consent.yaml has no "{locale}" pages, so the wording of '
                                             f"the purposes offered cannot be shown in that language")
    if "rate_limit" in form:
        from limits import parse

        try:
            parse(form["rate_limit"])
        except ValueError:
            problems.add(doc.pos(base + ("rate_limit",)), f'rate_limit "{form["rate_limit"]}" is not like 10/hour')


def _build(doc: LoadedDoc, problems: Problems) -> Forms | None:
    model = _consent_model(problems)
    for form_id, form in doc.data["forms"].items():
        _check_form(doc, problems, form_id, form, model)
    if problems:
        return None
    return Forms({
        form_id: Form(
            id=form_id,
            fields=tuple(Field(f["name"], bool(f.get("required", False))) for f in form["fields"]),
            consent=tuple(ConsentOffer(o["purpose"], o["channel"], o["version"], bool(o.get("required", False)))
                          for o in form["consent"]),
            texts={locale: dict(texts) for locale, texts in form["texts"].items()},
            locale=form.get("locale") or next(iter(form["texts"])),
            redirect=form.get("redirect"),
            allowed_origins=tuple(o.rstrip("/") for o in form.get("allowed_origins", ())),
            rate_limit=form.get("rate_limit", DEFAULT_RATE_LIMIT),
        )
        for form_id, form in doc.data["forms"].items()
    })


def check_forms(path: str | Path) -> tuple[Forms | None, list[Diagnostic]]:
    return check_config(path, SCHEMA_NAME, _build, EMPTY)


def load_forms(path: str | Path) -> Forms:
    """Load and check forms.yaml; FormsError lists every mistake."""
    forms, errors = check_forms(path)
    if forms is None:
        raise FormsError(errors)
    return forms


CONFIG_VALIDATORS[FILE_NAME] = validate_with(SCHEMA_NAME, _build, EMPTY)
