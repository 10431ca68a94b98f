"""Typed, opaque, authenticated, URL-safe tokens for tracking links.

A token is `base64url(0x02 || AES-SIV(fields))`, no padding: the fields (tracking.token_payload,
a compact binary form) are encrypted and authenticated, so the text shows neither the contact
id nor the Message-ID, and a changed character is refused. AES-SIV is deterministic: the same
fields give the same token (a retried send renders the same links) and no nonce is stored.
`verify` hands back:

    kind        open | click | unsubscribe | preferences | confirm | bounce
    message_id  the message the token belongs to (open, click; optional for unsubscribe/preferences;
                bounce: only its 32 hex digits, so the token fits a VERP local part: tracking/verp.py)
    link        index into the message's stored link list (click only)
    contact_id  the contact (every kind)
    channel     email | sms | ... (unsubscribe, confirm; optional for preferences)
    purpose     the consent purpose (unsubscribe, confirm; optional for preferences)
    expires_at  unix seconds (required for confirm, optional for the others)

Keys come from `NURTURE_SECRET_KEYS` (comma-separated); each yields a 512-bit AES-SIV key by
HKDF-SHA256. The first encrypts, every one decrypts, so a key can be rotated in by putting it
first and rotated out later by removing it.

Tokens issued before (version 1) are `base64url(json payload) "." base64url(16 bytes of
HMAC-SHA256)`: readable, signed. They are still verified with the same keys, so links already
sent keep working until they expire or their key is removed; nothing issues them any more.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tracking import token_payload

log = logging.getLogger(__name__)

ENV_VAR = "NURTURE_SECRET_KEYS"
# Only for local development and tests; `signer_from_env` logs a warning when it falls back to it.
DEV_KEY = b"nurture-development-key-do-not-use-in-production"
MIN_KEY_BYTES = 16
MAC_BYTES = 16  # 128 bits, version 1 tokens
MAX_TOKEN_CHARS = 2048
_DOMAIN = b"nurture.token.v1\x00"  # domain separation: these keys sign nothing else
VERSION = 2  # the first byte of every token issued now
_SIV_INFO = b"nurture.token.v2 aes-siv-512"  # HKDF info: the derived keys serve only this
_SIV_TAG_BYTES = 16

OPEN, CLICK, UNSUBSCRIBE, PREFERENCES, CONFIRM = "open", "click", "unsubscribe", "preferences", "confirm"
BOUNCE = "bounce"

# long field name -> short payload key of version 1 tokens (JSON)
_SHORT = {
    "message_id": "m",
    "link": "l",
    "contact_id": "c",
    "channel": "ch",
    "purpose": "p",
    "expires_at": "e",
}
_LONG = {short: long for long, short in _SHORT.items()}

# kind -> (required fields, optional fields)
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    OPEN: (frozenset({"message_id", "contact_id"}), frozenset({"expires_at"})),
    CLICK: (frozenset({"message_id", "link", "contact_id"}), frozenset({"expires_at"})),
    UNSUBSCRIBE: (
        frozenset({"contact_id", "channel", "purpose"}),
        frozenset({"message_id", "expires_at"}),
    ),
    PREFERENCES: (
        frozenset({"contact_id"}),
        frozenset({"message_id", "channel", "purpose", "expires_at"}),
    ),
    CONFIRM: (frozenset({"contact_id", "channel", "purpose", "expires_at"}), frozenset()),
    BOUNCE: (frozenset({"message_id", "contact_id"}), frozenset()),
}

# Reasons carried by BadToken.
MALFORMED, BAD_SIGNATURE, WRONG_KIND, EXPIRED = "malformed", "bad_signature", "wrong_kind", "expired"


class BadToken(Exception):
    """A token that must not be honoured. `reason` is one of the module's reason constants."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    """Strict unpadded base64url: a text that another text also decodes to is refused, so no
    character of a token can be changed without the bytes changing."""
    if not text or any(ch in text for ch in "=+/"):
        raise ValueError("not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64e(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _check_value(name: str, value: Any) -> None:
    ok = {
        "link": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "expires_at": isinstance(value, int) and not isinstance(value, bool),
        "contact_id": (isinstance(value, str) and value != "")
        or (isinstance(value, int) and not isinstance(value, bool)),
    }.get(name, isinstance(value, str) and value != "")
    if not ok:
        raise ValueError(f"token field {name!r} has an invalid value {value!r}")


def _check_fields(kind: str, fields: Mapping[str, Any]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r} (expected one of {', '.join(KINDS)})")
    required, optional = KINDS[kind]
    missing = required - fields.keys()
    extra = fields.keys() - required - optional
    if missing:
        raise ValueError(f"{kind} token needs {', '.join(sorted(missing))}")
    if extra:
        raise ValueError(f"{kind} token does not take {', '.join(sorted(extra))}")
    for name, value in fields.items():
        _check_value(name, value)


def _siv(key: bytes) -> AESSIV:
    derived = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_SIV_INFO).derive(key)
    return AESSIV(derived)


class TokenSigner:
    """Encrypts with the first key, decrypts (and verifies version 1 tokens) with any of them."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("TokenSigner needs at least one key")
        for key in keys:
            if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
                raise ValueError(f"every signing key must be at least {MIN_KEY_BYTES} bytes")
        self._keys = list(keys)
        self._sivs = [_siv(key) for key in keys]

    def _mac(self, key: bytes, body: str) -> bytes:
        return hmac.new(key, _DOMAIN + body.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]

    def sign(self, kind: str, *, ttl_s: int | None = None, now: float | None = None, **fields: Any) -> str:
        """Make a token. `ttl_s` sets `expires_at` relative to `now` (default: the clock)."""
        if ttl_s is not None:
            if "expires_at" in fields:
                raise ValueError("give ttl_s or expires_at, not both")
            fields["expires_at"] = int(time.time() if now is None else now) + int(ttl_s)
        fields = {name: value for name, value in fields.items() if value is not None}
        _check_fields(kind, fields)
        header = bytes([VERSION])
        return _b64e(header + self._sivs[0].encrypt(token_payload.pack(kind, fields), [header]))

    def verify(self, token: str, expected_kind: str, now: float | None = None) -> dict[str, Any]:
        """Check and decode a token; raises BadToken, never anything else, on bad input."""
        if expected_kind not in KINDS:
            raise ValueError(f"unknown token kind {expected_kind!r}")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") > 1:
            raise BadToken(MALFORMED, "not a token")
        kind, fields = self._open_v1(token) if "." in token else self._open_v2(token)
        if kind != expected_kind:
            raise BadToken(WRONG_KIND, f"a {kind} token where a {expected_kind} token was expected")
        try:
            _check_fields(kind, fields)
        except ValueError as exc:
            raise BadToken(MALFORMED, str(exc)) from None
        expires_at = fields.get("expires_at")
        if expires_at is not None and (time.time() if now is None else now) >= expires_at:
            raise BadToken(EXPIRED, "token has expired")
        return {"kind": kind, **fields}

    def _open_v2(self, token: str) -> tuple[str, dict[str, Any]]:
        try:
            raw = _b64d(token)
        except (ValueError, binascii.Error):
            raise BadToken(MALFORMED, "bad encoding") from None
        if len(raw) < 1 + _SIV_TAG_BYTES + 1 or raw[0] != VERSION:
            raise BadToken(MALFORMED, "not a token of a known version")
        header, sealed = raw[:1], raw[1:]
        plain = None
        for siv in self._sivs:  # every key, no early exit: timing says nothing about which matched
            try:
                opened = siv.decrypt(sealed, [header])
            except InvalidTag:
                continue
            plain = opened if plain is None else plain
        if plain is None:
            raise BadToken(BAD_SIGNATURE, "token is not authentic")
        try:
            return token_payload.unpack(plain)
        except (ValueError, UnicodeError):
            raise BadToken(MALFORMED, "bad payload") from None

    def _open_v1(self, token: str) -> tuple[str, dict[str, Any]]:
        """A signed, readable token as issued before version 2 (links in messages already sent)."""
        body, mac_text = token.split(".")
        try:
            body.encode("ascii")
            mac = _b64d(mac_text)
        except (ValueError, binascii.Error, UnicodeError):
            raise BadToken(MALFORMED, "bad encoding") from None
        if len(mac) != MAC_BYTES:
            raise BadToken(MALFORMED, "bad signature length")
        # Compare against every key (no early exit) so timing says nothing about which key matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(self._mac(key, body), mac)
        if not matched:
            raise BadToken(BAD_SIGNATURE, "signature does not match")
        try:
            payload = json.loads(_b64d(body).decode("utf-8"))
        except (ValueError, binascii.Error, UnicodeError):
            raise BadToken(MALFORMED, "bad payload") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("t"), str):
            raise BadToken(MALFORMED, "bad payload")
        kind = payload.pop("t")
        if any(short not in _LONG for short in payload):
            raise BadToken(MALFORMED, "unknown field")
        return kind, {_LONG[short]: value for short, value in payload.items()}


def keys_from_text(text: str) -> list[bytes]:
    """Parse a `NURTURE_SECRET_KEYS` value: comma-separated, blanks ignored."""
    keys = [part.strip().encode("utf-8") for part in text.split(",") if part.strip()]
    short = [i for i, key in enumerate(keys) if len(key) < MIN_KEY_BYTES]
    if short:
        raise ValueError(
            f"{ENV_VAR}: key #{short[0] + 1} is shorter than {MIN_KEY_BYTES} bytes; "
            "use long random keys, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return keys


def signer_from_env(environ: Mapping[str, str] | None = None, *, warn: bool = True) -> TokenSigner:
    """The signer configured by `NURTURE_SECRET_KEYS`, else the development key.

    Falling back to the development key logs a warning unless `warn=False` (tests).
    """
    env = os.environ if environ is None else environ
    text = env.get(ENV_VAR, "")
    keys = keys_from_text(text) if text.strip() else []
    if not keys:
        if warn:
            log.warning("%s is not set: signing tracking links with the development key", ENV_VAR)
        keys = [DEV_KEY]
    return TokenSigner(keys)
