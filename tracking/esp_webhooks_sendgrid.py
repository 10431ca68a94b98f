"""SendGrid's Event Webhook, authenticated by its ECDSA signature: P-256 / SHA-256 over
`timestamp + raw body`, base64 DER in `X-Twilio-Email-Event-Webhook-Signature`, the timestamp in
`X-Twilio-Email-Event-Webhook-Timestamp`; the verification key (base64 DER, as SendGrid shows it,
or PEM) in NURTURE_SENDGRID_PUBLIC_KEY.

Payload: a JSON array of events {"email", "timestamp", "event", "sg_event_id", "sg_message_id",
"smtp-id" (the Message-ID header), "type", "status", "reason", ...}
(https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event). `bounce` of type
`blocked` is soft; `dropped` and `deferred` are not bounces (nothing was attempted / still tried).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from marketing.bounce_mail import is_hard
from marketing.bounces import BOUNCE, COMPLAINT, DELIVERY, UNSUBSCRIBE, Feedback

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
KINDS = {"spamreport": COMPLAINT, "unsubscribe": UNSUBSCRIBE, "group_unsubscribe": UNSUBSCRIBE, "delivered": DELIVERY}


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER) or as PEM; ValueError otherwise."""
    text = text.strip()
    try:
        key = load_pem_public_key(text.encode()) if text.startswith("-----") else load_der_public_key(
            base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"NURTURE_SENDGRID_PUBLIC_KEY is not a public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("NURTURE_SENDGRID_PUBLIC_KEY is not an elliptic curve key")
    return key


def authenticate(headers: Any, body: bytes, key: ec.EllipticCurvePublicKey | None) -> bool:
    signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if key is None or not signature or not timestamp:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode("utf-8") + body,
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def feedback(payload: Any) -> list[Feedback]:
    if not isinstance(payload, list):
        raise ValueError("a SendGrid Event Webhook is a JSON array of events")
    out = []
    for event in payload:
        if not isinstance(event, dict) or not event.get("sg_event_id"):
            continue
        name, key = event.get("event"), f"sendgrid:{event['sg_event_id']}"
        smtp_id = str(event.get("smtp-id") or "").strip()
        common = {"source": "esp:sendgrid", "message_ids": (smtp_id,) if smtp_id else (),
                  "recipients": (str(event.get("email") or ""),), "by_recipient": True}
        if name == "bounce":
            status = str(event.get("status") or "")
            hard = event.get("type") != "blocked" and (is_hard(status) if status else True)
            out.append(Feedback(BOUNCE, key, hard=hard, status=status, **common))
        elif name in KINDS:
            out.append(Feedback(KINDS[name], key, feedback_type="abuse" if name == "spamreport" else "", **common))
    return out
