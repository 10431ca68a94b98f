"""Amazon SES notifications through an SNS HTTP(S) subscription, authenticated by the SNS
message signature (SignatureVersion 1: RSA SHA-1, 2: RSA SHA-256) checked against a trusted
signing certificate. Certificates are configured by file (NURTURE_SES_SNS_CERTS: PEM, one or
more; an operator downloads the topic's SigningCertURL once), never fetched here, so a request
cannot make this server call out. NURTURE_SES_TOPIC_ARNS (comma-separated) limits the topics.

SubscriptionConfirmation: its SubscribeURL is logged (WARNING) for an operator to open (or
`aws sns confirm-subscription`); nothing is called. The Notification's `Message` is SES's JSON
({"notificationType" or "eventType": Bounce | Complaint | Delivery, "bounce": {"bounceType",
"bounceSubType", "bouncedRecipients": [{"emailAddress", "status", ...}], "feedbackId"},
"complaint": {"complainedRecipients", "complaintFeedbackType", "feedbackId"}, "mail":
{"messageId", "headers", "commonHeaders": {"messageId"}}}
(https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from marketing.bounces import BOUNCE, COMPLAINT, DELIVERY, Feedback

log = logging.getLogger(__name__)

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_CERT_URL_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SOFT_SUBTYPES = ("MailboxFull", "MessageTooLarge", "ContentRejected", "AttachmentRejected")


@dataclass(frozen=True)
class SnsTrust:
    certificates: tuple[x509.Certificate, ...] = ()
    topics: frozenset[str] = frozenset()  # empty: any topic


def load_certificates(pem: bytes) -> tuple[x509.Certificate, ...]:
    certs = tuple(x509.load_pem_x509_certificates(pem))
    if not all(isinstance(c.public_key(), rsa.RSAPublicKey) for c in certs):
        raise ValueError("NURTURE_SES_SNS_CERTS: SNS signs with RSA certificates only")
    return certs


def string_to_sign(message: dict[str, Any]) -> bytes:
    """SNS's canonical form: `name\\nvalue\\n` for each field of the message's type, in order."""
    fields = NOTIFICATION_FIELDS if message.get("Type") == "Notification" else CONFIRMATION_FIELDS
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode("utf-8")


def authenticate(message: Any, trust: SnsTrust) -> bool:
    if not isinstance(message, dict) or not trust.certificates:
        return False
    url = urlparse(str(message.get("SigningCertURL") or ""))
    if url.scheme != "https" or not _CERT_URL_HOST.match(url.hostname or "") or not url.path.endswith(".pem"):
        return False
    if trust.topics and message.get("TopicArn") not in trust.topics:
        return False
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None or not all(isinstance(message.get(k), str) for k in ("Message", "MessageId", "Timestamp",
                                                                             "TopicArn", "Type")):
        return False
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
        signed = string_to_sign(message)
    except (binascii.Error, ValueError, KeyError):
        return False
    for cert in trust.certificates:
        key = cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        try:
            key.verify(signature, signed, padding.PKCS1v15(), algorithm)
            return True
        except InvalidSignature:
            continue
    return False


def subscription(message: dict[str, Any]) -> str | None:
    """For a SubscriptionConfirmation: log its URL for an operator and say so; None for others."""
    if message.get("Type") != "SubscriptionConfirmation":
        return None
    log.warning("SES/SNS subscription to %s waits for confirmation: open %s", message.get("TopicArn"),
                message.get("SubscribeURL"))
    return str(message.get("SubscribeURL"))


def feedback(message: dict[str, Any]) -> list[Feedback]:
    if message.get("Type") != "Notification":
        return []
    body = json.loads(message["Message"])
    if not isinstance(body, dict):
        raise ValueError("the SNS Message is not an SES notification")
    kind = body.get("notificationType") or body.get("eventType")
    mail = body.get("mail") or {}
    ids = [str((mail.get("commonHeaders") or {}).get("messageId") or "")]
    ids += [str(h.get("value") or "") for h in mail.get("headers") or [] if str(h.get("name", "")).lower() == "message-id"]
    common = {"source": "esp:ses", "message_ids": tuple(dict.fromkeys(i.strip() for i in ids if i.strip())),
              "by_recipient": True}
    if kind == "Bounce":
        bounce = body["bounce"]
        recipients = bounce.get("bouncedRecipients") or []
        status = str((recipients[0] if recipients else {}).get("status") or "")
        hard = bounce.get("bounceType") == "Permanent" and bounce.get("bounceSubType") not in SOFT_SUBTYPES
        return [Feedback(BOUNCE, f"ses:{bounce['feedbackId']}", hard=hard, status=status,
                         recipients=tuple(str(r.get("emailAddress")) for r in recipients), **common)]
    if kind == "Complaint":
        complaint = body["complaint"]
        feedback_type = str(complaint.get("complaintFeedbackType") or "abuse")
        if feedback_type == "not-spam":
            return []
        proof = tuple((name, str(complaint[name])) for name in ("userAgent", "arrivalDate", "timestamp", "feedbackId")
                      if complaint.get(name))
        return [Feedback(COMPLAINT, f"ses:{complaint['feedbackId']}", feedback_type=feedback_type, proof=proof,
                         recipients=tuple(str(r.get("emailAddress")) for r in complaint.get("complainedRecipients") or []),
                         **common)]
    if kind == "Delivery":
        return [Feedback(DELIVERY, f"ses:delivery:{mail['messageId']}",
                         recipients=tuple(str(r) for r in (body.get("delivery") or {}).get("recipients") or []), **common)]
    return []
