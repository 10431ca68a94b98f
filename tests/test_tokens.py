"""Tracking tokens: round trips, opacity, version 1 (signed, readable) tokens still honoured,
and every way a token must be refused."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tracking import token_payload, tokens
from tracking.tokens import BadToken, TokenSigner, signer_from_env

KEY_A = b"a" * 32
KEY_B = b"b" * 32
MESSAGE_ID = "<0123456789abcdef0123456789abcdef@nurture.local>"
# Issued with KEY_A by the version 1 code (commit 1df58da) for click(MESSAGE_ID, link 0, contact 2):
# links like this one are in mailboxes and must keep working. 130 characters.
V1_CLICK = ("eyJ0IjoiY2xpY2siLCJjIjoyLCJsIjowLCJtIjoiPDAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmQG51cnR1cmUubG9jYWw-In0"
            ".SZvTNgju-Orn-7eNSBub5w")


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner([KEY_A])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_click_round_trip_is_compact_and_url_safe(signer: TokenSigner) -> None:
    token = signer.sign("click", message_id="<0123456789abcdef0123456789abcdef@acme.test>", link=3, contact_id="c-42")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < 80
    assert signer.verify(token, "click") == {
        "kind": "click",
        "message_id": "<0123456789abcdef0123456789abcdef@acme.test>",
        "link": 3,
        "contact_id": "c-42",
    }


def test_new_tokens_are_shorter_than_version_1(signer: TokenSigner) -> None:
    token = signer.sign("click", message_id=MESSAGE_ID, link=0, contact_id=2)
    assert len(V1_CLICK) == 130 and len(token) == 71


def test_a_new_token_shows_neither_the_contact_id_nor_the_message_id(signer: TokenSigner) -> None:
    contact_id = 4242
    token = signer.sign("click", message_id=MESSAGE_ID, link=0, contact_id=contact_id)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    hex_part = MESSAGE_ID[1:33]
    for text in (token.encode(), raw):
        for secret in (b"4242", MESSAGE_ID.encode(), hex_part.encode(), bytes.fromhex(hex_part),
                       b"nurture.local", b"click"):
            assert secret not in text
    assert bytes.fromhex(hex_part) in token_payload.pack("click", {"message_id": MESSAGE_ID, "link": 0,
                                                                   "contact_id": contact_id})  # the check can see it
    # the version 1 token, by contrast, is readable by anyone holding the email
    assert b'"c":2' in base64.urlsafe_b64decode(V1_CLICK.split(".")[0] + "==") and hex_part in str(
        base64.urlsafe_b64decode(V1_CLICK.split(".")[0] + "=="))


def test_a_version_1_token_still_verifies(signer: TokenSigner) -> None:
    assert signer.verify(V1_CLICK, "click") == {"kind": "click", "message_id": MESSAGE_ID, "link": 0, "contact_id": 2}
    assert TokenSigner([KEY_B, KEY_A]).verify(V1_CLICK, "click")["contact_id"] == 2  # after a rotation too
    with pytest.raises(BadToken) as info:
        TokenSigner([KEY_B]).verify(V1_CLICK, "click")  # its key retired
    assert info.value.reason == tokens.BAD_SIGNATURE
    with pytest.raises(BadToken) as info:
        signer.verify(V1_CLICK, "open")
    assert info.value.reason == tokens.WRONG_KIND


@pytest.mark.parametrize("fields", [
    {"message_id": "<0123456789ABCDEF0123456789ABCDEF@acme.test>", "contact_id": "é-1"},  # not our hex shape
    {"message_id": "m", "contact_id": 0, "expires_at": -5},
    {"message_id": "<0123456789abcdef0123456789abcdef@exämple.test>", "contact_id": 2**40, "expires_at": 2**33},
])
def test_payload_values_round_trip_exactly(signer: TokenSigner, fields: dict) -> None:
    token = signer.sign("open", **fields)
    assert signer.verify(token, "open", now=-10) == {"kind": "open", **fields}


def test_every_kind_has_a_payload_code() -> None:
    assert set(token_payload.KIND_CODES) == set(tokens.KINDS)
    assert set(token_payload.FIELD_CODES) == set(tokens._SHORT)


def test_every_kind_round_trips(signer: TokenSigner) -> None:
    cases = {
        "open": {"message_id": "m1", "contact_id": 7},
        "click": {"message_id": "m1", "link": 0, "contact_id": 7},
        "unsubscribe": {"contact_id": 7, "channel": "email", "purpose": "marketing", "message_id": "m1"},
        "preferences": {"contact_id": 7},
        "confirm": {"contact_id": 7, "channel": "email", "purpose": "marketing", "expires_at": 2_000},
    }
    for kind, fields in cases.items():
        assert signer.verify(signer.sign(kind, **fields), kind, now=1_000) == {"kind": kind, **fields}


def test_same_fields_give_the_same_token(signer: TokenSigner) -> None:
    a = signer.sign("open", message_id="m", contact_id="c")
    assert a == signer.sign("open", contact_id="c", message_id="m")


def test_forged_token_with_another_key_is_refused(signer: TokenSigner) -> None:
    forged = TokenSigner([b"x" * 32]).sign("open", message_id="m", contact_id="c")
    with pytest.raises(BadToken) as info:
        signer.verify(forged, "open")
    assert info.value.reason == tokens.BAD_SIGNATURE


def test_every_changed_bit_is_refused(signer: TokenSigner) -> None:
    token = signer.sign("click", message_id=MESSAGE_ID, link=0, contact_id=2)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for i in range(len(raw)):
        for bit in (1, 128):
            changed = raw[:i] + bytes([raw[i] ^ bit]) + raw[i + 1:]
            with pytest.raises(BadToken) as info:
                signer.verify(_b64(changed), "click")
            assert info.value.reason == (tokens.MALFORMED if i == 0 else tokens.BAD_SIGNATURE)


def test_every_changed_or_cut_character_is_refused(signer: TokenSigner) -> None:
    """Includes the last character, whose low bits base64 leaves unused (refused as not canonical)."""
    token = signer.sign("open", message_id=MESSAGE_ID, contact_id=2)
    variants = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:] for i in range(len(token))]
    variants += [token[:n] for n in range(len(token))] + [token + "A"]
    for variant in variants:
        with pytest.raises(BadToken) as info:
            signer.verify(variant, "open")
        assert info.value.reason in (tokens.MALFORMED, tokens.BAD_SIGNATURE)


def test_tampered_version_1_payload_is_refused(signer: TokenSigner) -> None:
    body, mac = V1_CLICK.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["l"] = 5  # point the click at another link
    tampered = _b64(json.dumps(payload, separators=(",", ":")).encode()) + "." + mac
    assert signer.verify(V1_CLICK, "click")["link"] == 0
    with pytest.raises(BadToken) as info:
        signer.verify(tampered, "click")
    assert info.value.reason == tokens.BAD_SIGNATURE


def test_flipped_mac_character_is_refused(signer: TokenSigner) -> None:
    token = signer.sign("open", message_id="m", contact_id="c")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(BadToken) as info:
        signer.verify(flipped, "open")
    assert info.value.reason in (tokens.BAD_SIGNATURE, tokens.MALFORMED)


def test_an_open_token_is_not_a_click_token(signer: TokenSigner) -> None:
    token = signer.sign("open", message_id="m", contact_id="c")
    with pytest.raises(BadToken) as info:
        signer.verify(token, "click")
    assert info.value.reason == tokens.WRONG_KIND
    with pytest.raises(BadToken) as info:
        signer.verify(signer.sign("preferences", contact_id="c"), "unsubscribe")
    assert info.value.reason == tokens.WRONG_KIND


def test_expiry(signer: TokenSigner) -> None:
    token = signer.sign("confirm", contact_id="c", channel="email", purpose="marketing", ttl_s=3600, now=10_000)
    assert signer.verify(token, "confirm", now=13_599)["expires_at"] == 13_600
    with pytest.raises(BadToken) as info:
        signer.verify(token, "confirm", now=13_600)
    assert info.value.reason == tokens.EXPIRED


def test_confirm_requires_an_expiry(signer: TokenSigner) -> None:
    with pytest.raises(ValueError, match="expires_at"):
        signer.sign("confirm", contact_id="c", channel="email", purpose="marketing")


def test_sign_refuses_unknown_kinds_and_fields(signer: TokenSigner) -> None:
    with pytest.raises(ValueError, match="unknown token kind"):
        signer.sign("download", contact_id="c")
    with pytest.raises(ValueError, match="does not take url"):
        signer.sign("click", message_id="m", link=0, contact_id="c", url="https://evil.test")
    with pytest.raises(ValueError, match="link"):
        signer.sign("click", message_id="m", link=-1, contact_id="c")


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "!!!.###", "eyJ0Ijoib3BlbiJ9.", ".AAAAAAAAAAAAAAAAAAAAAA", "x" * 5000, "é.é"],
)
def test_malformed_tokens_are_refused_cleanly(signer: TokenSigner, token: str) -> None:
    with pytest.raises(BadToken) as info:
        signer.verify(token, "open")
    assert info.value.reason in (tokens.MALFORMED, tokens.BAD_SIGNATURE)


def test_validly_signed_but_malformed_payload_is_refused(signer: TokenSigner) -> None:
    """A payload we never issue (missing fields) is refused even with a good MAC."""
    body = _b64(b'{"t":"click","m":"m"}')
    token = f"{body}.{_b64(signer._mac(KEY_A, body))}"
    with pytest.raises(BadToken) as info:
        signer.verify(token, "click")
    assert info.value.reason == tokens.MALFORMED


@pytest.mark.parametrize("plain", [
    b"\x01\x04m",  # click with a message id cut short
    b"\x01\x05\x01m",  # click without link and contact
    b"\x09",  # no such kind
    b"\x00\x09\x01c\x05\x01m",  # fields out of order
    b"\x00\x05\x01m\x09\x01c\x00",  # a byte after the last field
    b"\x00\x05\x01m\x08" + b"\xff" * 10,  # a varint too long
])
def test_authentic_but_malformed_payload_is_refused(signer: TokenSigner, plain: bytes) -> None:
    header = bytes([tokens.VERSION])
    token = _b64(header + signer._sivs[0].encrypt(plain, [header]))
    with pytest.raises(BadToken) as info:
        signer.verify(token, "click" if plain[0] == 1 else "open")
    assert info.value.reason == tokens.MALFORMED


def test_rotation_old_key_still_verifies_new_key_signs() -> None:
    old = TokenSigner([KEY_A])
    rotated = TokenSigner([KEY_B, KEY_A])
    old_token = old.sign("open", message_id="m", contact_id="c")
    assert rotated.verify(old_token, "open")["message_id"] == "m"
    new_token = rotated.sign("open", message_id="m", contact_id="c")
    assert new_token != old_token
    with pytest.raises(BadToken):
        old.verify(new_token, "open")
    retired = TokenSigner([KEY_B])
    with pytest.raises(BadToken):
        retired.verify(old_token, "open")


def test_signer_from_env(caplog: pytest.LogCaptureFixture) -> None:
    env = {"NURTURE_SECRET_KEYS": f" {KEY_B.decode()} , {KEY_A.decode()} "}
    token = signer_from_env(env).sign("open", message_id="m", contact_id="c")
    assert TokenSigner([KEY_B]).verify(token, "open")["contact_id"] == "c"
    with pytest.raises(ValueError, match="shorter than 16 bytes"):
        signer_from_env({"NURTURE_SECRET_KEYS": "short"})
    with caplog.at_level(logging.WARNING, logger="tracking.tokens"):
        signer_from_env({}, warn=False)
        assert caplog.records == []
        dev = signer_from_env({})
        assert "development key" in caplog.text
    assert TokenSigner([tokens.DEV_KEY]).verify(dev.sign("preferences", contact_id=1), "preferences")["contact_id"] == 1


def test_signer_refuses_weak_keys() -> None:
    with pytest.raises(ValueError):
        TokenSigner([])
    with pytest.raises(ValueError):
        TokenSigner([b"short"])
