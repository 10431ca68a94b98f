"""VERP envelope senders: each message's MAIL FROM names it (tracking/verp.py), on a real send."""

from __future__ import annotations

import pytest

from compiler import ir
from engine.simulation import Simulation
from tests.journey_builder import journey
from tracking import tokens
from tracking.verp import MAX_LOCAL_PART, bounce_domain, parse_verp, verp_address

SIGNER = tokens.TokenSigner([b"k" * 32])
MESSAGE_ID = "<0123456789abcdef0123456789abcdef@nurture.local>"


def test_the_local_part_fits_rfc_5321_for_any_plausible_contact_id() -> None:
    lengths = []
    for contact_id in (1, 999, 2**31 - 1, 2**40):
        address = verp_address(SIGNER, MESSAGE_ID, contact_id, "bounces.example")
        assert address is not None
        lengths.append(len(address.rpartition("@")[0]))
    assert lengths == [57, 58, 62, 63] and max(lengths) <= MAX_LOCAL_PART
    # past 2**41 the token would not fit: no VERP (the plain From is the envelope) rather than a bad address
    assert verp_address(SIGNER, MESSAGE_ID, 2**53, "bounces.example") is None


def test_an_address_decodes_back_and_a_changed_or_foreign_one_does_not() -> None:
    address = verp_address(SIGNER, MESSAGE_ID, 42, "bounces.example")
    target = parse_verp(SIGNER, address)
    assert target is not None and (target.message_hex, target.contact_id) == ("0123456789abcdef0123456789abcdef", 42)
    local, _, domain = address.rpartition("@")
    altered = local[:-1] + ("A" if local[-1] != "A" else "B") + "@" + domain
    assert parse_verp(SIGNER, altered) is None
    assert parse_verp(tokens.TokenSigner([b"z" * 32]), address) is None  # another installation's key
    assert parse_verp(SIGNER, "hello@northwind.example") is None
    assert parse_verp(SIGNER, "bounce+notatoken@northwind.example") is None


def test_the_bounce_domain_is_configured_else_the_from_domain() -> None:
    assert bounce_domain("Northwind <hello@northwind.example>", {}) == "northwind.example"
    assert bounce_domain("hello@northwind.example", {"NURTURE_BOUNCE_DOMAIN": "bnc.northwind.example"}) == "bnc.northwind.example"


def test_a_message_id_not_of_our_shape_gets_no_verp() -> None:
    assert verp_address(SIGNER, "<abc@elsewhere>", 1, "x.example") is None


@pytest.mark.asyncio
async def test_the_sinks_envelope_sender_decodes_back_to_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_BOUNCE_DOMAIN", "bounces.nurture.test")
    async with Simulation() as sim:
        contact_id = sim.create_contact({"email": "verp@example.com", "consent": {"email": ["marketing"]}})
        await sim.run(journey(ir.SendEmail(id="welcome", template="welcome"), emails=["welcome"]), contact_id)
        [delivery] = sim.smtp.deliveries
        assert delivery.mail_from.endswith("@bounces.nurture.test")
        target = parse_verp(sim.deps.signer, delivery.mail_from)
        assert target is not None
        assert delivery.message["Message-ID"] == f"<{target.message_hex}@nurture.local>"
        message = sim.store.get_message(delivery.message["Message-ID"])
        assert message is not None and message.contact_id == target.contact_id == contact_id
