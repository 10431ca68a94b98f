"""ESP webhook samples (tests/fixtures/esp) filled in, and signed with keys made here."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tracking import esp_webhooks_mailgun, esp_webhooks_ses

FIXTURES = Path(__file__).parent / "fixtures" / "esp"
POSTMARK_AUTH = "nurture-hook:correct horse battery staple"
MAILGUN_KEY = "mailgun-signing-key-for-tests-0123456789"


def sample(name: str, *, email: str = "", message_id: str = "") -> Any:
    text = (FIXTURES / name).read_text()
    text = text.replace("{EMAIL}", email).replace("{MESSAGE_ID_BARE}", message_id.strip("<>"))
    return json.loads(text.replace("{MESSAGE_ID}", message_id))


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def mailgun_signed(payload: dict[str, Any], key: str = MAILGUN_KEY) -> dict[str, Any]:
    sig = payload["signature"]
    sig["signature"] = esp_webhooks_mailgun.signature_of(key, sig["timestamp"], sig["token"])
    return payload


class SendGridKey:
    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_b64 = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: str = "1700000000") -> dict[str, str]:
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp, "Content-Type": "application/json"}


class SnsSigner:
    """A self-signed RSA certificate standing in for SNS's signing certificate."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-west-2.amazonaws.com")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                     .not_valid_after(now + dt.timedelta(days=30)).sign(self.key, hashes.SHA256()))

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        message = dict(message, SignatureVersion=version)
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(esp_webhooks_ses.string_to_sign(message), padding.PKCS1v15(), algorithm)
        return dict(message, Signature=base64.b64encode(signature).decode())

    def notification(self, ses_message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        envelope = sample("sns_notification.json")
        envelope["Message"] = json.dumps(ses_message)
        return self.sign(envelope, version)
