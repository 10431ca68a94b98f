"""The consent model file: the shipped one loads; mistakes are reported as file:line:col."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler.consent_model import ConsentModelError, check_consent_model, load_consent_model

ROOT = Path(__file__).resolve().parent.parent
GOOD = """\
channels:
  email: {label: Email}
purposes:
  marketing: {kind: topic, label: Offers, wording: Send me offers., version: "1", channels: [email], preference_page: true}
"""


def test_shipped_model_declares_the_purposes_and_their_wording():
    model = load_consent_model(ROOT / "journeys" / "consent.yaml")
    assert {c.name for c in model.channels} == {"email", "sms", "webhook"}
    assert {"marketing", "newsletter", "product-updates", "profiling", "third-party", "transactional"} <= {
        p.name for p in model.purposes}
    assert "transactional" not in {p.name for p in model.on_preference_page()}
    assert all(p.wording and p.version for p in model.purposes)
    assert model.wording_version("marketing") == "2024-06-01" and model.wording_version("nope") is None


@pytest.mark.parametrize("text,expected", [
    (GOOD.replace("kind: topic", "kind: topik"), ':4:21: purposes.marketing.kind "topik" is not one of'),
    (GOOD.replace("preference_page", "preferences_page"), ':4:102: unknown key "preferences_page"'),
    (GOOD.replace("channels: [email]", "channels: [emial]"), ':4:94: purposes.marketing: channel "emial" is not declared'),
    (GOOD.replace("  email: {label: Email}", "  Email: {label: Email}"), ':2:3: channels: name "Email" is invalid'),
    (GOOD.replace(', version: "1"', ""), ':4:14: purposes.marketing: missing key "version"'),
    (GOOD.replace("kind: topic", "kind: transactional"), ":4:127: purposes.marketing: transactional messages"),
    (GOOD + "extra: 1\n", ":5:1: unknown key \"extra\""),
    ("channels: [\n", ":2:1: YAML syntax error"),
    ("", ":1:1: the file is empty"),
], ids=["enum", "unknown-key", "undeclared-channel", "bad-name", "missing", "transactional-shown", "top-level",
        "syntax", "empty"])
def test_mistakes_are_reported_with_their_position(tmp_path, text, expected):
    path = tmp_path / "consent.yaml"
    path.write_text(text)
    model, errors = check_consent_model(path)
    assert model is None and any(expected in str(e) for e in errors), [str(e) for e in errors]
    with pytest.raises(ConsentModelError):
        load_consent_model(path)


def test_validate_command_checks_the_consent_file(tmp_path):
    (tmp_path / "consent.yaml").write_text(GOOD.replace("channels: [email]", "channels: [sms]"))
    out = subprocess.run([sys.executable, "cli.py", "validate", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and 'consent.yaml:4:94: purposes.marketing: channel "sms"' in out.stdout
    ok = subprocess.run([sys.executable, "cli.py", "validate", str(ROOT / "journeys" / "consent.yaml")], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
