"""Signed tracking tokens: round trips, and every way a token must be refused."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tracking import tokens
from tracking.tokens import BadToken, TokenSigner, signer_from_env

KEY_A = b"a" * 32
KEY_B = b"b" * 32


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner([KEY_A])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_click_round_trip_is_compact_and_url_safe(signer: TokenSigner) -> None:
    token = signer.sign("click", message_id="<0123456789abcdef0123456789abcdef@acme.test>", link=3, contact_id="c-42")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token.split(".")[1]) == 22  # 16 bytes of MAC = 128 bits
    assert len(token) < 160
    assert signer.verify(token, "click") == {
        "kind": "click",
        "message_id": "<0123456789abcdef0123456789abcdef@acme.test>",
        "link": 3,
        "contact_id": "c-42",
    }


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


def test_tampered_payload_is_refused(signer: TokenSigner) -> None:
    token = signer.sign("click", message_id="m", link=0, contact_id="c")
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["l"] = 5  # point the click at another link
    tampered = _b64(json.dumps(payload, separators=(",", ":")).encode()) + "." + mac
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
