"""`cli.py preview` and `cli.py send-test`: the step's exact email for a contact (stored or JSON),
in their locale, through the send path's own functions; a test send through a real SMTP sink,
marked, untracked and unrecorded; a contact without the consent the step needs refused."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

import dkim
import pytest
from sqlalchemy import create_engine, func, select

from activities.dkim_signing import DkimSigner, generate_key, write_key
from cli import main
from devstack.smtp_sink import SmtpSink
from store import Store, schema

ROOT = Path(__file__).resolve().parent.parent
JOURNEY = str(ROOT / "journeys" / "welcome-series.yaml")
ANA_ES = {"email": "ana@example.com", "first_name": "Ana", "locale": "es", "consent": {"email": ["marketing"]}}


@pytest.fixture
def stored(db_url: str):
    """A store with Ana (consenting, English) and Bo (no consent), and their ids."""
    with Store.open(db_url) as store:
        ana = store.create_contact(email="ana@example.com", first_name="Ana", locale="en")
        store.record_consent(ana, "email", "marketing", "granted", source="test")
        bo = store.create_contact(email="bo@example.com", first_name="Bo")
        yield store, ana, bo


def recorded(url: str) -> dict[str, int]:
    """How many rows the send path would have written: none for a preview or a test."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (schema.send_ledger, schema.consent_decisions, schema.events, schema.messages)}
    finally:
        engine.dispose()


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def test_preview_of_a_json_contact_in_their_locale(tmp_path: Path, capsys) -> None:
    out = tmp_path / "welcome"
    assert main(["preview", JOURNEY, "welcome", "--contact", json.dumps(ANA_ES), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out}.eml and {out}.html" in said and "locale: es; 2 tracked link(s)" in said
    msg = read_eml(tmp_path / "welcome.eml")
    assert msg["Subject"] == "Te damos la bienvenida a Northwind, Ana: esto es lo que viene"
    assert msg["From"] == "Northwind <hello@northwind.example>" and msg["To"] == "ana@example.com"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/u/" in msg["List-Unsubscribe"]
    html = (tmp_path / "welcome.html").read_text()
    assert html == msg.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert "Hola, Ana" in html and "/c/" in html and "/o/" in html  # tracked links and the open pixel
    assert "https://www.example.com/es/guias/lista-kpi" not in html  # rewritten to a click link
    # the template is MJML (welcome-1.es.mjml): its head's `table, td {...}` rule inlined into each td
    assert re.search(r'<td[^>]+style="border-collapse: collapse;mso-table-lspace: 0pt', html)
    assert "#2563eb" in html and "Darte de baja" in html


def test_preview_of_a_stored_contact_records_nothing(stored, db_url: str, tmp_path: Path, capsys) -> None:
    store, ana, _ = stored
    before = recorded(db_url)
    assert main(["preview", JOURNEY, "welcome", "--contact", "ana@example.com", "--db", db_url,
                 "--out", str(tmp_path / "p.eml")]) == 0
    msg = read_eml(tmp_path / "p.eml")
    assert msg["Subject"].startswith("Welcome to Northwind, Ana")
    assert recorded(db_url) == before


def test_preview_and_send_test_refuse_a_contact_without_consent(stored, db_url: str, tmp_path: Path,
                                                                 capsys) -> None:
    store, ana, bo = stored
    for argv in (["preview", JOURNEY, "welcome", "--contact", str(bo), "--db", db_url, "--out", str(tmp_path / "x")],
                 ["send-test", JOURNEY, "welcome", "--contact", str(bo), "--db", db_url, "--to", "qa@example.com"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err == (f"error: contact {bo} cannot get step 'welcome': no email/marketing consent on record "
                       "(no_consent; the journey would skip this send)\n")
    store.suppress("email", "ana@example.com", reason="hard_bounce", source="test")
    assert main(["preview", JOURNEY, "welcome", "--contact", str(ana), "--db", db_url,
                 "--out", str(tmp_path / "y")]) == 1
    assert "address suppressed (hard_bounce)" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.eml"))


@pytest.mark.parametrize("step, message", [
    ("welcom", "welcome-series has no step 'welcom' (did you mean \"welcome\"?); its email steps: welcome, guide, trial-invite"),
    ("wait-1", "its email steps: welcome, guide, trial-invite"),
])
def test_a_step_that_is_not_an_email_is_a_one_line_error(step: str, message: str, capsys) -> None:
    assert main(["preview", JOURNEY, step, "--contact", json.dumps(ANA_ES)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_contact_json_is_a_one_line_error(capsys) -> None:
    assert main(["preview", JOURNEY, "welcome", "--contact", '{"email": ']) == 1
    assert capsys.readouterr().err.startswith("error: --contact: not valid JSON")
    assert main(["preview", JOURNEY, "welcome", "--contact", '{"emial": "a@example.com"}']) == 1
    assert "unknown contact field(s): emial" in capsys.readouterr().err


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch):
    with SmtpSink() as running:
        monkeypatch.setenv("NURTURE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NURTURE_SMTP_PORT", str(running.port))
        yield running


def test_send_test_goes_through_the_relay_marked_untracked_signed_and_unrecorded(
        stored, db_url: str, sink: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    store, ana, _ = stored
    key = tmp_path / "dkim.pem"
    write_key(key, generate_key("rsa"))
    monkeypatch.setenv("NURTURE_DKIM_KEY_FILE", str(key))
    monkeypatch.setenv("NURTURE_DKIM_DOMAIN", "northwind.example")
    monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "s1")
    monkeypatch.delenv("NURTURE_TRACKING_URL", raising=False)  # the links below are the default's
    before = recorded(db_url)
    assert main(["send-test", JOURNEY, "welcome", "--contact", str(ana), "--db", db_url,
                 "--to", "qa@northwind.example"]) == 0
    assert "sent a test of <" in capsys.readouterr().out
    [delivery] = sink.deliveries
    msg = delivery.message
    assert delivery.rcpt_tos == ("qa@northwind.example",) and delivery.mail_from == "hello@northwind.example"
    assert msg["To"] == "qa@northwind.example"
    assert msg["Subject"] == "[TEST] Welcome to Northwind, Ana: here's what to expect"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "/c/" not in html + text and "/o/" not in html  # no click links, no open pixel
    assert "https://www.example.com/guides/kpi-checklist" in html and "https://www.example.com/notes" in text
    assert msg["List-Unsubscribe"] == "<http://127.0.0.1:8000/u/test-send>"  # a tester cannot unsubscribe Ana
    assert "http://127.0.0.1:8000/p/test-send" in html
    record = DkimSigner.load(key.read_bytes(), "northwind.example", "s1").record
    assert dkim.verify(delivery.raw, dnsfunc=lambda name, timeout=5: record.encode())
    assert recorded(db_url) == before  # no ledger entry, consent decision, event or message: reports never see it


def test_send_test_without_a_contact_renders_for_the_address_alone(sink: SmtpSink, capsys) -> None:
    assert main(["send-test", JOURNEY, "welcome", "--to", "qa@example.com"]) == 0
    [msg] = sink.messages
    assert msg["Subject"] == "[TEST] Welcome to Northwind, friend: here's what to expect"


def test_send_test_errors(sink: SmtpSink, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert main(["send-test", JOURNEY, "welcome", "--to", "not an address"]) == 1
    assert capsys.readouterr().err.startswith("error: --to 'not an address' is not an email address")
    sink.reject_recipient("qa@example.com")
    assert main(["send-test", JOURNEY, "welcome", "--to", "qa@example.com"]) == 1
    assert capsys.readouterr().err.startswith(f"error: 127.0.0.1:{sink.port} refused the test: 550 5.1.1")
    from devstack.ports import free_port

    monkeypatch.setenv("NURTURE_SMTP_PORT", str(free_port()))
    assert main(["send-test", JOURNEY, "welcome", "--to", "qa@example.com"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "127.0.0.1:" in err
    assert sink.messages == []


def test_preview_open_hands_the_html_file_to_the_browser(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(0o755)
    done = subprocess.run([sys.executable, "cli.py", "preview", JOURNEY, "welcome", "--contact", json.dumps(ANA_ES),
                           "--out", str(tmp_path / "p"), "--open"], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, BROWSER=f"{browser} %s"), timeout=60)
    assert done.returncode == 0, done.stderr
    for _ in range(50):  # the browser command runs in the background
        if opened.exists():
            break
        time.sleep(0.1)
    assert opened.read_text().strip() == (tmp_path / "p.html").as_uri()
