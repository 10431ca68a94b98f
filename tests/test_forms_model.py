"""journeys/forms.yaml: the shipped file loads; `cli.py validate` reports each mistake as
file:line:col, including what only consent.yaml can tell (purpose, channel, wording version)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from compiler.forms_model import load_forms

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "journeys" / "forms.yaml"


def test_the_shipped_forms_load():
    form = load_forms(SHIPPED).get("newsletter")
    assert form is not None and form.locale == "en" and set(form.texts) == {"en", "es"}
    assert [(f.name, f.required) for f in form.fields] == [("email", True), ("first_name", False)]
    assert [(o.purpose, o.channel, o.version, o.required) for o in form.consent] == [
        ("marketing", "email", "2024-06-01", True), ("profiling", "email", "2024-06-01", False)]
    assert form.pick_locale(["es-MX", "en"]) == "es" and form.pick_locale(["fr"]) == "en"


def folder_with(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(ROOT / "journeys" / "consent.yaml", tmp_path)
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "forms.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path / "forms.yaml"


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, needle, message", [
    ('version: "2024-06-01", required: true', 'version: "2023-01-01", required: true', "2023-01-01",
     'wording version "2023-01-01" is not the current one of "marketing" in consent.yaml ("2024-06-01")'),
    ("{purpose: marketing,", "{purpose: marketting,", "marketting",
     'purpose "marketting" is not declared in consent.yaml (did you mean "marketing"?)'),
    ("{purpose: profiling, channel: email", "{purpose: third-party, channel: sms", "channel: sms",
     'channel "sms": a form offers email consent only (the double opt-in link that confirms it is sent by email)'),
    ("{purpose: profiling, channel: email", "{purpose: third-party, channel: email", "third-party, channel",
     'purpose "third-party" does not cover channel "email" (it covers webhook)'),
    ("{purpose: profiling,", "{purpose: transactional,", "transactional",
     'purpose "transactional" is transactional (it needs no consent)'),
    ("- {name: email, required: true}", "- {name: email}", "- {name: email}",
     "a subscribe form needs a required email field"),
    ("- {name: first_name}", "- {name: frist_name}", "frist_name", '"frist_name" is not one of email, phone, first_name'),
    ("rate_limit: 10/hour", "rate_limit: lots", "rate_limit", "rate_limit: 'lots' does not match"),
    ("fields: {email: Correo electrónico, first_name: Nombre}", "fields: {email: Correo electrónico}",
     "fields: {email: Correo", "texts.es.fields: no label for first_name"),
    ("  es:\n", "  fr:\n", "  fr:", 'texts.fr: consent.yaml has no "fr" pages'),
])
def test_validate_points_at_the_mistake(tmp_path, capsys, old, new, needle, message):
    path = folder_with(tmp_path, old, new)
    assert cli.main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    assert out[0].startswith(f"{path}:{line_of(path, needle)}:") and message in out[0], out[0]
