"""The pages' words per locale in consent.yaml (`pages:`): the shipped file, the locale a contact
gets, and every mistake as file:line:col (missing and misspelt keys, placeholders, translations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compiler.consent_model import check_consent_model, load_consent_model
from compiler.consent_pages import ENGLISH, TEXTS, placeholders

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "journeys" / "consent.yaml"


def test_the_schema_the_builtin_english_and_the_shipped_file_name_the_same_texts():
    schema = json.loads((ROOT / "schemas" / "consent.schema.json").read_text())
    block = schema["$defs"]["locale_pages"]
    assert block["required"] == list(TEXTS)
    assert set(block["properties"]) == set(TEXTS) | {"channels", "purposes"}
    assert list(ENGLISH) == list(TEXTS) and all(set(placeholders(ENGLISH[k])) <= set(TEXTS[k]) for k in TEXTS)
    shipped = yaml.safe_load(SHIPPED.read_text())["pages"]
    assert {k: shipped["en"][k] for k in TEXTS} == ENGLISH  # the file shows what the built-in says
    assert {"en", "es"} <= set(shipped)


@pytest.mark.parametrize("locale, lang, title", [
    ("es-ES", "es", "Tus preferencias"), ("ES_mx", "es", "Tus preferencias"), ("es", "es", "Tus preferencias"),
    ("en-GB", "en", "Your preferences"), ("fr-FR", "en", "Your preferences"), (None, "en", "Your preferences"),
    ("", "en", "Your preferences"),
])
def test_a_contact_gets_their_locale_then_its_language_then_the_default(locale, lang, title):
    t = load_consent_model(SHIPPED).localized(locale)
    assert (t.lang, t.text("preferences_title")) == (lang, title)


def test_a_model_without_pages_uses_the_builtin_english(tmp_path):
    path = tmp_path / "consent.yaml"
    path.write_text(MINIMAL)
    t = load_consent_model(path).localized("es-ES")
    assert (t.lang, t.what("email", "marketing")) == ("en", "Offers by Email")


MINIMAL = """\
channels:
  email: {label: Email}
purposes:
  marketing: {kind: topic, label: Offers, wording: Send me offers., version: "1", channels: [email], preference_page: true}
"""


def with_pages(en: dict[str, str] | None = None, es: dict | None = None, extra: str = "") -> str:
    """MINIMAL plus complete en and es blocks (changed by `en`/`es`: a None value removes a key)."""
    blocks = {"en": dict(ENGLISH), "es": {**ENGLISH, "channels": {"email": "correo"},
                                           "purposes": {"marketing": {"label": "Ofertas", "wording": "Enviadme ofertas.",
                                                                      "version": "1"}}}}
    for name, change in (("en", en), ("es", es)):
        for key, value in (change or {}).items():
            if value is None:
                blocks[name].pop(key)
            else:
                blocks[name][key] = value
    return MINIMAL + extra + yaml.safe_dump({"pages": blocks}, allow_unicode=True, sort_keys=False)


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "consent.yaml"
    path.write_text(text)
    model, errors = check_consent_model(path)
    assert model is None or not errors
    return [str(e).split("consent.yaml:", 1)[1] for e in errors]


def test_a_complete_file_loads(tmp_path):
    assert errors_of(tmp_path, with_pages()) == []


def test_a_missing_text_is_named_where_its_block_starts(tmp_path):
    found = errors_of(tmp_path, with_pages(es={"confirm_button": None}))
    assert len(found) == 1 and found[0].endswith('pages.es: missing key "confirm_button"'), found


def test_a_misspelt_text_gets_a_did_you_mean(tmp_path):
    found = errors_of(tmp_path, with_pages(es={"confirm_button": None, "confirm_buton": "Confirmar"}))
    assert any('unknown key "confirm_buton" in pages.es (did you mean "confirm_button"?)' in e for e in found), found
    assert any('missing key "confirm_button"' in e for e in found), found


def test_an_unknown_placeholder_says_which_ones_the_text_may_use(tmp_path):
    found = errors_of(tmp_path, with_pages(es={"unsubscribe_question": "¿Dejar de recibir {wat}?"}))
    assert len(found) == 1 and found[0].endswith(
        'pages.es.unsubscribe_question: unknown placeholder {wat} (this text may use: {what}) (did you mean "what"?)'
    ), found
    found = errors_of(tmp_path, with_pages(es={"confirmed_text": "Gracias {"}))
    assert len(found) == 1 and "pages.es.confirmed_text: Single '{' encountered" in found[0], found


def test_another_locale_must_translate_every_channel_and_purpose(tmp_path):
    found = errors_of(tmp_path, with_pages(es={"channels": None}))
    assert len(found) == 1 and found[0].endswith(
        "pages.es: no translation of channels email (every one declared under channels: is needed)"), found
    found = errors_of(tmp_path, with_pages(es={"purposes": {"marketin": {"label": "O", "wording": "W", "version": "1"}}}))
    assert any('pages.es.purposes: "marketin" is not declared under purposes (did you mean "marketing"?)' in e
               for e in found), found
    assert any("no translation of purposes marketing" in e for e in found), found


def test_a_translation_of_an_older_wording_is_an_error(tmp_path):
    stale = {"marketing": {"label": "Ofertas", "wording": "Enviadme ofertas.", "version": "0"}}
    found = errors_of(tmp_path, with_pages(es={"purposes": stale}))
    assert len(found) == 1 and found[0].endswith(
        'pages.es.purposes.marketing: translates wording version "0", but the wording is now version "1": '
        "update the translation and its version"), found


def test_the_default_language_needs_a_block_and_no_translations(tmp_path):
    found = errors_of(tmp_path, with_pages(extra="language: fr\n"))
    assert found[0] == '6:1: pages: no texts for the default language "fr"', found
    assert all("pages.en: no translation of" in e for e in found[1:])  # en is now another locale
    found = errors_of(tmp_path, with_pages(en={"channels": {"email": "Mail"}}))
    assert len(found) == 1 and "pages.en.channels: the default language's words are the ones declared" in found[0]


def test_a_locale_is_a_lowercase_tag(tmp_path):
    found = errors_of(tmp_path, with_pages().replace("\n  es:\n", "\n  ES:\n", 1))
    assert any('pages: name "ES" is invalid: a locale is a lowercase BCP 47 tag such as es or es-mx' in e
               for e in found), found
