"""Postmark webhooks (Bounce, SpamComplaint, Delivery, SubscriptionChange), authenticated by the
HTTP basic auth credentials set in the webhook's URL (NURTURE_POSTMARK_WEBHOOK_AUTH=user:password).

Payloads: https://postmarkapp.com/developer/webhooks/webhooks-overview (one JSON object per call,
`RecordType` says which). Postmark's `MessageID` is its own id, not our Message-ID header, so the
contact is found by `Email`/`Recipient` unless the bounce dump (`Content`) quotes our Message-ID.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from typing import Any

from marketing.bounces import BOUNCE, COMPLAINT, DELIVERY, UNSUBSCRIBE, Feedback

_OUR_MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@[^<>@\s]+>")
HARD_TYPES = ("HardBounce", "BadEmailAddress")
SOFT_TYPES = ("SoftBounce", "DnsError", "Blocked", "DMARCPolicy", "SMTPApiError", "Unknown")
# Transient (a delay), AutoResponder, AddressChange, ... are not bounces


def authenticate(headers: Any, body: bytes, credentials: str) -> bool:
    """The request's basic auth is `credentials` ("user:password"), compared in constant time."""
    scheme, _, encoded = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, credentials.encode("utf-8"))


def feedback(payload: Any) -> list[Feedback]:
    if not isinstance(payload, dict):
        raise ValueError("a Postmark webhook is one JSON object")
    kind = payload.get("RecordType")
    quoted = tuple(dict.fromkeys(_OUR_MESSAGE_ID.findall(str(payload.get("Content") or ""))))
    common = {"source": "esp:postmark", "message_ids": quoted, "by_recipient": True}
    if kind == "Bounce":
        bounce_type = payload.get("Type")
        if bounce_type not in HARD_TYPES + SOFT_TYPES:
            return []
        return [Feedback(BOUNCE, f"postmark:{payload['ID']}", hard=bounce_type in HARD_TYPES,
                         recipients=(str(payload["Email"]),), feedback_type="", **common)]
    if kind == "SpamComplaint":
        return [Feedback(COMPLAINT, f"postmark:{payload['ID']}", recipients=(str(payload["Email"]),),
                         feedback_type="abuse", **common)]
    if kind == "Delivery":
        return [Feedback(DELIVERY, f"postmark:delivery:{payload['MessageID']}", recipients=(str(payload["Recipient"]),),
                         **common)]
    unsubscribed = payload.get("SuppressSending") and payload.get("SuppressionReason") == "ManualSuppression"
    if kind == "SubscriptionChange" and unsubscribed:
        return [Feedback(UNSUBSCRIBE, f"postmark:unsubscribe:{payload['MessageID']}:{payload.get('ChangedAt')}",
                         recipients=(str(payload["Recipient"]),), **common)]
    return []
