"""VERP: a per-message envelope sender, `bounce+<token>@<bounce domain>`, so a bounce sent to it
maps back to the message and contact even when the DSN quotes nothing of the original.

The token is a `bounce` token of tracking.tokens (AES-SIV, authenticated: a forged or altered
address decodes to nothing) holding the Message-ID's 32 hex digits and the contact id. It is
50-56 characters for contact ids below 2**41, so the local part ("bounce+" and the token) stays
within RFC 5321's 64 (tests/test_verp.py measures it; a larger id gets the plain From as envelope).
Local parts are case-sensitive (RFC 5321 2.4) and base64url needs that: relays that keep the
envelope as given (every MTA we know of) are fine; one that lowercases it makes the token fail
authentication and the bounce falls back to the quoted Message-ID.

The bounce domain is NURTURE_BOUNCE_DOMAIN, else the From address's domain (SPF then aligns
with From). Its MX must deliver `bounce+*` to `cli.py serve --bounces` (README).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from email.utils import parseaddr

from tracking import tokens

PREFIX = "bounce+"
DOMAIN_ENV = "NURTURE_BOUNCE_DOMAIN"
MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
_MESSAGE_ID = re.compile(r"^<([0-9a-f]{32})@[^<>@\s]+>$")


@dataclass(frozen=True)
class VerpTarget:
    """What a VERP address names: the message (its Message-ID's hex part) and the contact."""

    message_hex: str
    contact_id: int


def bounce_domain(from_header: str, environ: dict[str, str] | None = None) -> str:
    """NURTURE_BOUNCE_DOMAIN, else the domain of the From address."""
    env = os.environ if environ is None else environ
    configured = env.get(DOMAIN_ENV, "").strip()
    if configured:
        return configured
    return parseaddr(from_header)[1].rpartition("@")[2]


def verp_address(signer: tokens.TokenSigner, message_id: str, contact_id: int, domain: str) -> str | None:
    """The envelope sender for one message, or None for a Message-ID not of our shape
    (the caller then uses the plain From address)."""
    match = _MESSAGE_ID.match(message_id or "")
    if not match or not domain:
        return None
    token = signer.sign(tokens.BOUNCE, message_id=match[1], contact_id=contact_id)
    local = PREFIX + token
    if len(local) > MAX_LOCAL_PART:  # a very large contact id: fall back rather than send a bad address
        return None
    return f"{local}@{domain}"


def parse_verp(signer: tokens.TokenSigner, address: str) -> VerpTarget | None:
    """The message and contact a VERP address names, or None (not VERP, forged, altered)."""
    local = parseaddr(address or "")[1].rpartition("@")[0]
    if not local.lower().startswith(PREFIX):
        return None
    try:
        fields = signer.verify(local[len(PREFIX):], tokens.BOUNCE)
    except tokens.BadToken:
        return None
    contact_id = fields["contact_id"]
    if not isinstance(contact_id, int):
        return None
    return VerpTarget(message_hex=fields["message_id"], contact_id=contact_id)
