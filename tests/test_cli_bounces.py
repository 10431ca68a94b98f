"""`cli.py bounces ingest`: files exported from a mailbox, acted on once, one line each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devstack.ports import free_port
from store import Store
from tests.bounce_samples import filled, sample
from tracking import tokens
from tracking.verp import verp_address

ROOT = Path(__file__).resolve().parent.parent
KEY = "cli-bounces-test-key-0123456789"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_ingest_acts_once_and_says_what_each_file_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store.open(url)
    contact_id = store.create_contact(email="ana@example.com")
    store.record_consent(contact_id, "email", "marketing", "granted", source="test")
    mid = "<" + "cd" * 16 + "@nurture.local>"
    store.save_message(mid, contact_id=contact_id, journey_id="welcome", step_id="hello", channel="email", links=[])
    verp = verp_address(tokens.TokenSigner([KEY.encode()]), mid, contact_id, "northwind.example")
    complaint = tmp_path / "complaint.eml"
    complaint.write_bytes(filled("arf_yahoo_shape.eml", verp=verp, rcpt="redacted", message_id="<x@y>"))
    delay = tmp_path / "delay.eml"
    delay.write_bytes(sample("simple_28.eml"))
    env = dict(os.environ, NURTURE_DB_URL=url, NURTURE_SECRET_KEYS=KEY, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")

    first = cli("bounces", "ingest", str(complaint), str(delay), env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == (f"{complaint}: applied: contact {contact_id}, message {mid} (by verp): email.complained, "
                        "address suppressed (complaint), email marketing consent withdrawn")
    assert lines[1] == f"{delay}: ignored: a delay warning (the mail is still being retried)"
    assert "Temporal not reachable" in first.stderr and "Traceback" not in first.stderr
    assert store.consent_state(contact_id, "email", "marketing").status == "withdrawn"

    again = cli("bounces", "ingest", str(complaint), str(tmp_path / "missing.eml"), env=env)
    assert again.returncode == 1
    assert again.stdout.splitlines()[0].startswith(f"{complaint}: duplicate: report mail:")
    assert f"error: {tmp_path / 'missing.eml'}: cannot read: No such file or directory" in again.stderr
    assert len(store.events_for(contact_id, type="email.complained")) == 1
    store.close()


def test_ingest_reads_one_mail_from_standard_input(tmp_path: Path) -> None:
    """As a Postfix pipe transport would call it: `cli.py bounces ingest -`."""
    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store.open(url)
    contact_id = store.create_contact(email="gone@example.com")
    mid = "<" + "ef" * 16 + "@nurture.local>"
    store.save_message(mid, contact_id=contact_id, journey_id="welcome", step_id="hello", channel="email", links=[])
    dsn = filled("postfix_dsn_template.eml", rcpt="gone@example.com", message_id=mid)
    env = dict(os.environ, NURTURE_DB_URL=url, NURTURE_SECRET_KEYS=KEY, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    done = subprocess.run([sys.executable, "cli.py", "bounces", "ingest", "-"], cwd=ROOT, env=env, input=dsn,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith(f"<stdin>: applied: contact {contact_id}, message {mid} (by message-id)")
    assert store.suppression_reason("email", "gone@example.com") == "hard_bounce"
    store.close()


def test_serve_with_bounces_receives_a_dsn_over_smtp(tmp_path: Path) -> None:
    """`cli.py serve --bounces HOST:PORT`: the tracking server and the bounce mailbox in one process."""
    import smtplib
    import time

    from devstack.ports import wait_until_answers

    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store.open(url)
    contact_id = store.create_contact(email="gone@example.com")
    mid = "<" + "12" * 16 + "@nurture.local>"
    store.save_message(mid, contact_id=contact_id, journey_id="welcome", step_id="hello", channel="email", links=[])
    verp = verp_address(tokens.TokenSigner([KEY.encode()]), mid, contact_id, "northwind.example")
    http_port, smtp_port = free_port(), free_port()
    env = dict(os.environ, NURTURE_DB_URL=url, NURTURE_SECRET_KEYS=KEY, TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    server = subprocess.Popen([sys.executable, "cli.py", "serve", "--port", str(http_port), "--bounces",
                               f"127.0.0.1:{smtp_port}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        assert wait_until_answers(smtp_port, timeout=60), "the bounce mailbox never listened"
        dsn = filled("postfix_dsn_template.eml", verp="x@relay.example", rcpt="gone@example.com", message_id="<n@x>")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            smtp.sendmail("", [verp], dsn)
        deadline = time.monotonic() + 30
        while store.suppression_reason("email", "gone@example.com") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.suppression_reason("email", "gone@example.com") == "hard_bounce"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
        store.close()
    assert f"bounce mailbox (SMTP) on 127.0.0.1:{smtp_port}" in output
