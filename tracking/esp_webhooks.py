"""ESP webhooks on the tracking server: bounces, complaints, unsubscribes and deliveries reported
by Postmark, Mailgun, SendGrid and Amazon SES (one module each: tracking/esp_webhooks_*.py),
acted on by the one deliverability policy (marketing/bounces.py).

    POST /webhooks/postmark   basic auth                       NURTURE_POSTMARK_WEBHOOK_AUTH=user:password
    POST /webhooks/mailgun    HMAC-SHA256(timestamp + token)   NURTURE_MAILGUN_SIGNING_KEY
    POST /webhooks/sendgrid   ECDSA P-256 (timestamp + body)   NURTURE_SENDGRID_PUBLIC_KEY
    POST /webhooks/ses        SNS signature, trusted certs     NURTURE_SES_SNS_CERTS (file), NURTURE_SES_TOPIC_ARNS

A request that is not authentic (unsigned, forged, a provider not configured) is answered 401
before its body is read as data: nothing changes. An authentic one with a body that is not the
provider's format is 400. Otherwise 200 with the count of each outcome; the ESP's retries are
acted on once (the policy's report keys).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from compiler.sending_model import BouncePolicy, default_sending_rules
from marketing.bounces import apply, event_publisher
from tracking import esp_webhooks_mailgun as mailgun
from tracking import esp_webhooks_postmark as postmark
from tracking import esp_webhooks_sendgrid as sendgrid
from tracking import esp_webhooks_ses as ses

log = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class EspConfig:
    postmark_auth: str = ""
    mailgun_key: str = ""
    sendgrid_key: Any = None  # ec.EllipticCurvePublicKey
    ses: ses.SnsTrust = field(default_factory=ses.SnsTrust)
    policy: BouncePolicy = field(default_factory=BouncePolicy)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, policy: BouncePolicy | None = None) -> "EspConfig":
        """From the environment; ValueError (one line) for a key or certificate file that is unusable."""
        env = os.environ if environ is None else environ
        certs_file = env.get("NURTURE_SES_SNS_CERTS", "").strip()
        try:
            certs = ses.load_certificates(Path(certs_file).read_bytes()) if certs_file else ()
        except (OSError, ValueError) as exc:
            raise ValueError(f"NURTURE_SES_SNS_CERTS={certs_file}: {exc}") from None
        key_text = env.get("NURTURE_SENDGRID_PUBLIC_KEY", "").strip()
        return cls(
            postmark_auth=env.get("NURTURE_POSTMARK_WEBHOOK_AUTH", ""),
            mailgun_key=env.get("NURTURE_MAILGUN_SIGNING_KEY", ""),
            sendgrid_key=sendgrid.load_public_key(key_text) if key_text else None,
            ses=ses.SnsTrust(certs, frozenset(t.strip() for t in env.get("NURTURE_SES_TOPIC_ARNS", "").split(",")
                                              if t.strip())),
            policy=policy or default_sending_rules().bounces,
        )


def _unauthorized(provider: str) -> Response:
    return JSONResponse({"error": f"not an authentic {provider} webhook"}, status_code=401)


def _bad(provider: str, why: str) -> Response:
    return JSONResponse({"error": f"not a {provider} webhook payload: {why}"}, status_code=400)


async def _body(request: Request) -> bytes | None:
    body = await request.body()
    return None if len(body) > MAX_BODY else body


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


async def _act(request: Request, provider: str, feedbacks: list[Any]) -> Response:
    ctx = request.app.state.tracking
    config: EspConfig = request.app.state.esp
    publish = event_publisher(ctx.store, ctx.client, ctx.journeys_provider, ctx.task_queue, ctx.search_attributes)
    counts: Counter[str] = Counter()
    for fb in feedbacks:
        out = await apply(ctx.store, ctx.signer, fb, publish, config.policy)
        counts[out.status] += 1
        log.info("%s webhook: %s: %s", provider, out.status, out.detail)
    return JSONResponse(dict(counts))


def _parsed(provider: str, parse: Any, payload: Any) -> list[Any] | Response:
    try:
        return parse(payload)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _bad(provider, str(exc) or type(exc).__name__)


async def postmark_webhook(request: Request) -> Response:
    body = await _body(request)
    if body is None or not postmark.authenticate(request.headers, body, request.app.state.esp.postmark_auth):
        return _unauthorized("Postmark")
    found = _parsed("Postmark", postmark.feedback, _json(body))
    return found if isinstance(found, Response) else await _act(request, "postmark", found)


async def mailgun_webhook(request: Request) -> Response:
    body = await _body(request)
    payload = _json(body) if body is not None else None
    if payload is None or not mailgun.authenticate(payload, request.app.state.esp.mailgun_key):
        return _unauthorized("Mailgun")
    found = _parsed("Mailgun", mailgun.feedback, payload)
    return found if isinstance(found, Response) else await _act(request, "mailgun", found)


async def sendgrid_webhook(request: Request) -> Response:
    body = await _body(request)
    if body is None or not sendgrid.authenticate(request.headers, body, request.app.state.esp.sendgrid_key):
        return _unauthorized("SendGrid")
    found = _parsed("SendGrid", sendgrid.feedback, _json(body))
    return found if isinstance(found, Response) else await _act(request, "sendgrid", found)


async def ses_webhook(request: Request) -> Response:
    body = await _body(request)
    message = _json(body) if body is not None else None
    if message is None or not ses.authenticate(message, request.app.state.esp.ses):
        return _unauthorized("SES/SNS")
    url = ses.subscription(message)
    if url is not None:
        return JSONResponse({"subscription": "waiting for an operator to confirm (SubscribeURL logged)"})
    found = _parsed("SES", ses.feedback, message)
    return found if isinstance(found, Response) else await _act(request, "ses", found)


ROUTES = [
    Route("/webhooks/postmark", postmark_webhook, methods=["POST"]),
    Route("/webhooks/mailgun", mailgun_webhook, methods=["POST"]),
    Route("/webhooks/sendgrid", sendgrid_webhook, methods=["POST"]),
    Route("/webhooks/ses", ses_webhook, methods=["POST"]),
]
