"""The bounce mailbox over real SMTP (aiosmtpd listener, smtplib client), on a real store."""

from __future__ import annotations

import smtplib

import pytest

from devstack.bounce_listener import BounceListener, mailbox_handle, parse_host_port
from marketing.bounces import store_publisher
from tests.bounce_samples import filled, sample
from tracking import tokens
from tracking.verp import verp_address

SIGNER = tokens.TokenSigner([b"l" * 32])


def deliver(port: int, raw: bytes, rcpt: str) -> None:
    """As an MTA sends it: CRLF line ends (the samples are stored with LF)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail("", [rcpt], raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))  # a DSN's envelope sender is empty (RFC 3464)


def test_a_dsn_sent_to_the_verp_address_suppresses_the_address(sqlite_store) -> None:
    store = sqlite_store
    contact_id = store.create_contact(email="gone@example.com")
    mid = "<" + "ab" * 16 + "@nurture.local>"
    store.save_message(mid, contact_id=contact_id, journey_id="j", step_id="s", channel="email", links=[])
    verp = verp_address(SIGNER, mid, contact_id, "bounces.example")
    # the DSN quotes nothing of ours: only the envelope recipient (the VERP address) points to the message
    raw = filled("postfix_dsn_template.eml", verp="someone@relay.example", rcpt="gone@example.com",
                 message_id="<unrelated@relay.example>")
    with BounceListener(mailbox_handle(store, SIGNER, store_publisher(store))) as listener:
        deliver(listener.port, raw, verp)
        deliver(listener.port, sample("simple_28.eml"), verp)  # a delay warning: accepted, ignored
        assert [o.status for o in listener.outcomes] == ["applied", "ignored"]
    assert store.suppression_reason("email", "gone@example.com") == "hard_bounce"
    assert [e.message_id for e in store.events_for(contact_id, type="email.bounced")] == [mid]


def test_a_report_that_cannot_be_processed_is_answered_451_for_the_mta_to_retry() -> None:
    async def broken(raw: bytes, rcpts: tuple[str, ...]):
        raise RuntimeError("the store is down")

    with BounceListener(broken) as listener:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            deliver(listener.port, sample("dsn_04.eml"), "bounce+x@bounces.example")
    assert caught.value.smtp_code == 451


def test_host_port_is_checked() -> None:
    assert parse_host_port("0.0.0.0:2525") == ("0.0.0.0", 2525)
    assert parse_host_port("2525") == ("127.0.0.1", 2525)
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_host_port("localhost:smtp")
