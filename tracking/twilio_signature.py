"""Twilio's request signature (`X-Twilio-Signature`).

base64(HMAC-SHA1(auth token, full URL + for each form field sorted by name: name + value)).
A repeated field contributes each distinct value once, sorted, as Twilio's own library does.
Shared by the tracking server (which checks inbound SMS webhooks) and the dev SMS API (which
signs its status callbacks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _grouped(params: Params) -> dict[str, set[str]]:
    pairs = params.items() if isinstance(params, Mapping) else params
    out: dict[str, set[str]] = {}
    for name, value in pairs:
        out.setdefault(str(name), set()).add(str(value))
    return out


def sign(url: str, params: Params, token: str) -> str:
    """The signature Twilio would send for a POST of `params` to `url`."""
    data = url
    for name, values in sorted(_grouped(params).items()):
        for value in sorted(values):
            data += name + value
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode("ascii")


def _with_and_without_port(url: str) -> list[str]:
    """Twilio signs the URL as configured, which may or may not name the default port."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    try:
        port = parts.port
    except ValueError:
        return [url]
    if port is None:
        other = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))
    elif port == default:
        other = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    else:
        return [url]
    return [url, other]


def verify(url: str, params: Params, token: str, signature: str | None) -> bool:
    """True when `signature` matches `url` + `params` (constant-time comparison)."""
    if not signature:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    ok = False
    for candidate in _with_and_without_port(url):
        ok |= hmac.compare_digest(sign(candidate, pairs, token).encode(), signature.encode("utf-8", "replace"))
    return ok
