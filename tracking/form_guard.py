"""What keeps bots and other sites' pages from submitting the hosted forms: a signed token in
each rendered form (CSRF), a honeypot field, and a per-IP rate limit (the `limits` package).

The token is `<issued unix time>.<MAC>` over the form id and that time; its key is derived from
the tracking server's token signer (NURTURE_SECRET_KEYS), so every server process with the same
keys accepts it. A form embedded in another site (`cli.py forms snippet`) carries no token: a POST
from an origin the form lists in `allowed_origins` is accepted instead (an Origin check, OWASP's
other CSRF defence).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from tracking import tokens

TOKEN_TTL_S = 24 * 3600
CLOCK_SKEW_S = 60
HONEYPOT = "website"  # a field people never see; bots fill it in


def _key(signer: tokens.TokenSigner) -> bytes:
    """A MAC key only holders of the signing key can compute: the (deterministic, AES-SIV) token of
    a fixed payload under the first key, hashed with a label of its own use."""
    secret = signer.sign(tokens.CONFIRM, contact_id="form-csrf", channel="form", purpose="csrf", expires_at=0)
    return hashlib.sha256(b"nurture.form-csrf\x00" + secret.encode("ascii")).digest()


def _mac(key: bytes, form_id: str, issued: int) -> str:
    digest = hmac.new(key, f"{form_id}\x00{issued}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class FormGuard:
    signer: tokens.TokenSigner
    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))

    def __post_init__(self) -> None:
        self._key = _key(self.signer)

    def token(self, form_id: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        return f"{issued}.{_mac(self._key, form_id, issued)}"

    def token_ok(self, form_id: str, token: str, now: float | None = None) -> bool:
        issued_text, _, mac = (token or "").partition(".")
        if not issued_text.isascii() or not issued_text.isdigit() or len(issued_text) > 12:
            return False
        issued, now = int(issued_text), time.time() if now is None else now
        fresh = now - TOKEN_TTL_S <= issued <= now + CLOCK_SKEW_S
        return fresh and hmac.compare_digest(mac.encode(), _mac(self._key, form_id, issued).encode())

    def allow(self, rate_limit: str, form_id: str, ip: str) -> int | None:
        """None when this submission is within the limit, else the seconds until it is (Retry-After)."""
        item = parse(rate_limit)
        if self.limiter.hit(item, "form", form_id, ip):
            return None
        reset = self.limiter.get_window_stats(item, "form", form_id, ip).reset_time
        return max(1, int(reset - time.time()) + 1)


def origin_allowed(headers: Any, allowed: tuple[str, ...]) -> bool:
    """The request's Origin (else its Referer's origin) is one of `allowed`."""
    origin = headers.get("origin")
    if not origin or origin == "null":
        referer = headers.get("referer") or ""
        parts = referer.split("/")
        origin = "/".join(parts[:3]) if len(parts) >= 3 and referer.startswith(("http://", "https://")) else ""
    return bool(origin) and origin.rstrip("/") in allowed
