"""ESP webhooks on the real tracking app and a real store (SQLite and PostgreSQL): each provider's
documented payload, authenticated as the provider does it (keys and certificates made here);
unsigned or forged -> 401 and nothing changed; a retry is acted on once."""

from __future__ import annotations

import json
import logging

import pytest

from compiler.sending_model import BouncePolicy
from tests.esp_samples import (
    MAILGUN_KEY, POSTMARK_AUTH, SendGridKey, SnsSigner, basic, mailgun_signed, sample,
)
from tests.tracking_helpers import API_TOKEN, MESSAGE_ID, MODEL, PUBLIC_URL, SIGNER, TWILIO_TOKEN, counts, http, seed
from tracking import esp_webhooks_sendgrid
from tracking.esp_webhooks import EspConfig
from tracking.server import create_app

EMAIL = "ada@example.com"
SENDGRID = SendGridKey()
SNS = SnsSigner()


@pytest.fixture
def app(store, tmp_path):
    certs = tmp_path / "sns.pem"
    certs.write_bytes(SNS.pem())
    esp = EspConfig.from_env({"NURTURE_POSTMARK_WEBHOOK_AUTH": POSTMARK_AUTH, "NURTURE_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
                              "NURTURE_SENDGRID_PUBLIC_KEY": SENDGRID.public_b64, "NURTURE_SES_SNS_CERTS": str(certs)},
                             policy=BouncePolicy())

    async def no_temporal():
        raise ConnectionError("Temporal is not running in this test")

    return create_app(store=store, signer=SIGNER, client_provider=no_temporal, api_tokens=[API_TOKEN],
                      twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, consent_model=MODEL, esp=esp)


async def post(app, path: str, body: bytes, headers: dict[str, str] | None = None):
    async with http(app) as c:
        return await c.post(path, content=body, headers={"Content-Type": "application/json", **(headers or {})})


# ------------------------------------------------------------------ Postmark (basic auth)

async def test_postmark_hard_bounce_suppresses_by_recipient(store, app):
    cid = seed(store)
    body = json.dumps(sample("postmark_bounce.json", email=EMAIL)).encode()
    r = await post(app, "/webhooks/postmark", body, basic(POSTMARK_AUTH))
    assert r.status_code == 200 and r.json() == {"applied": 1}
    assert store.suppression_reason("email", EMAIL) == "hard_bounce"
    [event] = store.events_for(cid, type="email.bounced")
    assert (event.message_id, event.data["via"], event.data["report"]) == (MESSAGE_ID, "recipient",
                                                                          "postmark:4323372036854775807")
    again = await post(app, "/webhooks/postmark", body, basic(POSTMARK_AUTH))  # Postmark retries
    assert again.json() == {"duplicate": 1} and len(store.events_for(cid, type="email.bounced")) == 1


@pytest.mark.parametrize("headers", [{}, basic("nurture-hook:wrong"), {"Authorization": "Bearer x"},
                                     {"Authorization": "Basic !!!"}])
async def test_postmark_without_the_credentials_is_401_and_changes_nothing(store, app, headers):
    seed(store)
    before = counts(store)
    body = json.dumps(sample("postmark_spam_complaint.json", email=EMAIL)).encode()
    r = await post(app, "/webhooks/postmark", body, headers)
    assert r.status_code == 401
    assert counts(store) == before and store.suppression_reason("email", EMAIL) is None


# ------------------------------------------------------------------ Mailgun (HMAC)

async def test_mailgun_permanent_failure_suppresses_by_message_id(store, app):
    cid = seed(store)
    payload = mailgun_signed(sample("mailgun_failed_permanent.json", email=EMAIL, message_id=MESSAGE_ID))
    r = await post(app, "/webhooks/mailgun", json.dumps(payload).encode())
    assert r.status_code == 200 and r.json() == {"applied": 1}
    [event] = store.events_for(cid, type="email.bounced")
    assert event.data["via"] == "message-id" and event.data["hard"] is True
    temporary = mailgun_signed(sample("mailgun_failed_temporary.json", email=EMAIL, message_id=MESSAGE_ID))
    r = await post(app, "/webhooks/mailgun", json.dumps(temporary).encode())
    assert r.status_code == 200 and r.json() == {}  # a retry in progress: not a bounce


async def test_mailgun_forged_signature_is_401(store, app):
    seed(store)
    before = counts(store)
    forged = mailgun_signed(sample("mailgun_failed_permanent.json", email=EMAIL, message_id=MESSAGE_ID),
                            key="not-the-signing-key")
    assert (await post(app, "/webhooks/mailgun", json.dumps(forged).encode())).status_code == 401
    changed = mailgun_signed(sample("mailgun_failed_permanent.json", email=EMAIL, message_id=MESSAGE_ID))
    changed["signature"]["timestamp"] = "1529006855"  # the signature no longer matches
    assert (await post(app, "/webhooks/mailgun", json.dumps(changed).encode())).status_code == 401
    assert (await post(app, "/webhooks/mailgun", b"not json")).status_code == 401
    assert counts(store) == before and store.suppression_reason("email", EMAIL) is None


# ------------------------------------------------------------------ SendGrid (ECDSA)

async def test_sendgrid_events_bounce_and_complaint(store, app):
    cid = seed(store)
    body = json.dumps(sample("sendgrid_events.json", email=EMAIL, message_id=MESSAGE_ID)).encode()
    r = await post(app, "/webhooks/sendgrid", body, SENDGRID.headers(body))
    assert r.status_code == 200 and r.json() == {"applied": 2}  # "processed" is not acted on
    assert store.suppression_reason("email", EMAIL) == "hard_bounce"  # the first reason stays
    assert store.consent_state(cid, "email", "marketing").status == "withdrawn"
    assert [e.type for e in store.events_for(cid) if e.type.startswith("email.") and e.type != "email.sent"] == [
        "email.bounced", "email.complained"]


async def test_sendgrid_delivered_and_unsubscribe_events(store, app):
    """An unsubscribe through the ESP's own link withdraws consent (no suppression); a delivery is an event.
    The unsubscribe event carries no smtp-id: the contact is found by its address."""
    cid = seed(store)
    body = json.dumps(sample("sendgrid_delivered_unsubscribe.json", email=EMAIL, message_id=MESSAGE_ID)).encode()
    r = await post(app, "/webhooks/sendgrid", body, SENDGRID.headers(body))
    assert r.status_code == 200 and r.json() == {"applied": 2}
    assert store.consent_state(cid, "email", "marketing").status == "withdrawn"
    assert store.suppression_reason("email", EMAIL) is None
    events = {e.type: e for e in store.events_for(cid) if e.type in ("email.delivered", "email.unsubscribed")}
    assert events["email.delivered"].data["via"] == "message-id" and events["email.unsubscribed"].data["via"] == "recipient"
    assert {e.message_id for e in events.values()} == {MESSAGE_ID}


async def test_sendgrid_signature_over_another_body_or_timestamp_is_401(store, app):
    seed(store)
    before = counts(store)
    body = json.dumps(sample("sendgrid_events.json", email=EMAIL, message_id=MESSAGE_ID)).encode()
    signed = SENDGRID.headers(body)
    assert (await post(app, "/webhooks/sendgrid", body + b" ", signed)).status_code == 401
    assert (await post(app, "/webhooks/sendgrid", body, dict(signed, **{
        "X-Twilio-Email-Event-Webhook-Timestamp": "1700000001"}))).status_code == 401
    assert (await post(app, "/webhooks/sendgrid", body, SendGridKey().headers(body))).status_code == 401
    assert (await post(app, "/webhooks/sendgrid", body)).status_code == 401
    assert counts(store) == before


def test_sendgrids_own_signed_vector_verifies() -> None:
    """The test vector of SendGrid's SDKs: our verification agrees with theirs."""
    vector = sample("sendgrid_signed_vector.json")
    key = esp_webhooks_sendgrid.load_public_key(vector["public_key"])
    headers = {esp_webhooks_sendgrid.SIGNATURE_HEADER: vector["signature"],
               esp_webhooks_sendgrid.TIMESTAMP_HEADER: vector["timestamp"]}
    assert esp_webhooks_sendgrid.authenticate(headers, vector["payload"].encode(), key)
    assert not esp_webhooks_sendgrid.authenticate(headers, b"payload", key)


# ------------------------------------------------------------------ SES through SNS (certificate)

@pytest.mark.parametrize("version", ["1", "2"])
async def test_ses_complaint_withdraws_consent_with_the_report_as_proof(store, app, version):
    cid = seed(store)
    message = SNS.notification(sample("ses_complaint.json", email=EMAIL, message_id=MESSAGE_ID), version)
    r = await post(app, "/webhooks/ses", json.dumps(message).encode())
    assert r.status_code == 200 and r.json() == {"applied": 1}
    state = store.consent_state(cid, "email", "marketing")
    assert state.status == "withdrawn" and state.source == "esp:ses"
    [withdrawal] = [e for e in store.consent_history(cid) if e.status == "withdrawn"]
    assert withdrawal.evidence["report"] == "ses:000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"
    assert withdrawal.evidence["report_fields"]["userAgent"] == "AnyCompany Feedback Loop (V0.01)"
    assert store.suppression_reason("email", EMAIL) == "complaint"


async def test_ses_bounce_suppresses(store, app):
    cid = seed(store)
    message = SNS.notification(sample("ses_bounce.json", email=EMAIL, message_id=MESSAGE_ID))
    assert (await post(app, "/webhooks/ses", json.dumps(message).encode())).json() == {"applied": 1}
    [event] = store.events_for(cid, type="email.bounced")
    assert (event.data["status"], event.data["via"]) == ("5.1.1", "message-id")


async def test_ses_forged_or_unsigned_is_401_and_changes_nothing(store, app):
    seed(store)
    before = counts(store)
    genuine = SNS.notification(sample("ses_complaint.json", email=EMAIL, message_id=MESSAGE_ID))
    forged = SnsSigner().notification(sample("ses_complaint.json", email=EMAIL, message_id=MESSAGE_ID))
    altered = dict(genuine, Message=genuine["Message"].replace("abuse", "fraud"))
    unsigned = {k: v for k, v in genuine.items() if k != "Signature"}
    elsewhere = dict(genuine, SigningCertURL="https://evil.example/SimpleNotificationService-x.pem")
    for bad in (forged, altered, unsigned, elsewhere, dict(genuine, SignatureVersion="3")):
        assert (await post(app, "/webhooks/ses", json.dumps(bad).encode())).status_code == 401
    assert counts(store) == before and store.suppression_reason("email", EMAIL) is None


async def test_ses_subscription_confirmation_is_logged_for_an_operator_and_not_called(store, app, caplog):
    seed(store)
    before = counts(store)
    confirmation = SNS.sign(sample("sns_subscription_confirmation.json"))
    with caplog.at_level(logging.WARNING, logger="tracking.esp_webhooks_ses"):
        r = await post(app, "/webhooks/ses", json.dumps(confirmation).encode())
    assert r.status_code == 200
    assert confirmation["SubscribeURL"] in caplog.text
    assert counts(store) == before


async def test_ses_topics_can_be_limited(store, tmp_path):
    certs = tmp_path / "sns.pem"
    certs.write_bytes(SNS.pem())
    esp = EspConfig.from_env({"NURTURE_SES_SNS_CERTS": str(certs), "NURTURE_SES_TOPIC_ARNS": "arn:aws:sns:eu-west-1:1:ours"},
                             policy=BouncePolicy())

    async def no_temporal():
        raise ConnectionError

    app = create_app(store=store, signer=SIGNER, client_provider=no_temporal, api_tokens=[API_TOKEN],
                     twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, consent_model=MODEL, esp=esp)
    seed(store)
    message = SNS.notification(sample("ses_complaint.json", email=EMAIL, message_id=MESSAGE_ID))
    assert (await post(app, "/webhooks/ses", json.dumps(message).encode())).status_code == 401


async def test_an_authentic_webhook_with_a_body_not_of_the_provider_is_400(store, app):
    body = json.dumps({"RecordType": "Bounce", "Type": "HardBounce"}).encode()  # no ID, no Email
    r = await post(app, "/webhooks/postmark", body, basic(POSTMARK_AUTH))
    assert r.status_code == 400 and "Postmark" in r.json()["error"]


def test_a_bad_key_in_the_environment_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="NURTURE_SENDGRID_PUBLIC_KEY is not a public key"):
        EspConfig.from_env({"NURTURE_SENDGRID_PUBLIC_KEY": "bm90IGEga2V5"})
    with pytest.raises(ValueError, match="NURTURE_SES_SNS_CERTS="):
        EspConfig.from_env({"NURTURE_SES_SNS_CERTS": str(tmp_path / "missing.pem")})
