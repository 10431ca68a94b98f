"""Mailgun webhooks (failed, complained, unsubscribed, delivered), authenticated by the signature
in the payload: hex HMAC-SHA256 of `timestamp + token` with the webhook signing key
(NURTURE_MAILGUN_SIGNING_KEY).

Payload: {"signature": {"timestamp", "token", "signature"}, "event-data": {"event", "id",
"severity", "recipient", "delivery-status": {"code", "message", ...}, "message": {"headers":
{"message-id": ...}}, ...}} (https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/).
A `failed` event of severity `temporary` is a retry in progress, not a bounce.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from marketing.bounce_mail import is_hard
from marketing.bounces import BOUNCE, COMPLAINT, DELIVERY, UNSUBSCRIBE, Feedback

_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
KINDS = {"complained": COMPLAINT, "unsubscribed": UNSUBSCRIBE, "delivered": DELIVERY}


def signature_of(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode("utf-8"), f"{timestamp}{token}".encode("utf-8"), hashlib.sha256).hexdigest()


def authenticate(payload: Any, signing_key: str) -> bool:
    sig = payload.get("signature") if isinstance(payload, dict) else None
    if not signing_key or not isinstance(sig, dict):
        return False
    timestamp, token, given = (str(sig.get(k) or "") for k in ("timestamp", "token", "signature"))
    if not (timestamp and token and given):
        return False
    return hmac.compare_digest(signature_of(signing_key, timestamp, token), given.lower())


def feedback(payload: Any) -> list[Feedback]:
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise ValueError("a Mailgun webhook has event-data")
    event = data.get("event")
    headers = (data.get("message") or {}).get("headers") or {}
    message_id = str(headers.get("message-id") or "").strip().strip("<>")
    common = {"source": "esp:mailgun", "message_ids": (f"<{message_id}>",) if message_id else (),
              "recipients": (str(data.get("recipient") or ""),), "by_recipient": True}
    key = f"mailgun:{data['id']}"
    if event == "failed":
        if data.get("severity") != "permanent":
            return []
        status = (data.get("delivery-status") or {})
        found = _STATUS.search(f"{status.get('enhanced-code') or ''} {status.get('message') or ''} "
                               f"{status.get('description') or ''}")
        code = found.group(0) if found else ""
        return [Feedback(BOUNCE, key, hard=is_hard(code) if code else True, status=code, **common)]
    if event in KINDS:
        return [Feedback(KINDS[event], key, feedback_type="abuse" if event == "complained" else "", **common)]
    return []
