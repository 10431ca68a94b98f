"""Internal notifications (e.g. to sales) and webhooks to other systems."""

from __future__ import annotations

import asyncio
import hashlib
from email.utils import parseaddr

import httpx
from temporalio.exceptions import ApplicationError

from activities import send_gate
from activities.consent import decide
from activities.contracts import NotifyInput, SendResult, WebhookInput
from activities.deps import Deps
from activities.email_build import build_email
from activities.render import RenderError, render_email, render_text
from activities.smtp_delivery import PermanentFailure, TemporaryFailure, Uncertain, deliver
from compiler.ir import EmailTemplate

RETRYABLE_HTTP = (408, 425, 429)


def _claim(deps: Deps, ref, channel: str, message_id: str = "") -> str | None:
    """Claim this visit in the ledger; the status of an earlier attempt, if any."""
    entry = deps.store.ledger_claim(
        ref.key, contact_id=ref.contact_id, journey_id=ref.journey_id, step_id=ref.step_id,
        channel=channel, message_id=message_id,
    )
    return None if entry.status == "claimed" else entry.status


async def notify(deps: Deps, inp: NotifyInput) -> SendResult:
    """An internal email to a team (or an address): about the contact, not to them."""
    recipients = deps.teams.get(inp.to) or ([inp.to] if "@" in inp.to else [])
    if not recipients:
        return SendResult("failed", reason="unknown_team")
    previous = await asyncio.to_thread(_claim, deps, inp.ref, "notify")
    if previous in send_gate.ALREADY:
        return SendResult("sent", reason="already_sent")
    context = await asyncio.to_thread(send_gate.template_context, deps, inp)
    context.update(unsubscribe_url="", preferences_url="", confirm_url="")
    template = EmailTemplate(**inp.templates[inp.template_name])
    try:
        rendered = render_email(template, context, inp.parts)
        built = build_email(
            rendered, to=recipients[0], sender=deps.sender, message_key=inp.ref.key,
            base_url=deps.tracking_url, signer=deps.signer, contact_id=inp.ref.contact_id,
            domain=deps.message_domain, purpose="internal",
        )
    except (RenderError, ValueError):
        return SendResult("failed", reason="render_error")
    if len(recipients) > 1:
        built.message.replace_header("To", ", ".join(recipients))

    async def transmitting() -> None:
        await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "transmitting")

    try:
        await deliver(deps.smtp, built.message, parseaddr(deps.sender)[1], recipients, transmitting)
    except TemporaryFailure as exc:
        await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "claimed", exc.reply[:200])
        raise ApplicationError(f"temporary SMTP failure: {exc}", type="SmtpTemporary") from None
    except PermanentFailure as exc:
        await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "failed", str(exc))
        return SendResult("failed", reason=f"bounced:{exc.code}")
    except Uncertain:
        await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "uncertain")
        return SendResult("sent", reason="uncertain", message_id=built.message_id)
    await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "sent")
    await asyncio.to_thread(
        deps.store.record_event, inp.ref.contact_id, "notify.sent",
        journey_id=inp.ref.journey_id, step_id=inp.ref.step_id, data={"to": inp.to if "@" not in inp.to else "address"},
    )
    return SendResult("sent", message_id=built.message_id)


async def call_webhook(deps: Deps, inp: WebhookInput) -> SendResult:
    """Call another system. Carrying personal data needs the `webhook` consent purpose."""
    if inp.purpose:
        decision = await asyncio.to_thread(decide, deps.store, inp.ref, "webhook", inp.purpose, None)
        if not decision.granted:
            return SendResult("skipped", reason=decision.reason)
    previous = await asyncio.to_thread(_claim, deps, inp.ref, "webhook")
    if previous in ("sent", "uncertain"):
        return SendResult("sent", reason="already_sent")
    body = None
    if inp.body:
        context = await asyncio.to_thread(send_gate.template_context, deps, inp)
        try:
            body = render_text(inp.body, context, part="webhook body")
        except RenderError:
            return SendResult("failed", reason="render_error")
    headers = {
        "Content-Type": "application/json",
        # lets the receiver drop a retried delivery of the same step visit
        "Idempotency-Key": hashlib.sha256(inp.ref.key.encode()).hexdigest()[:32],
    }
    try:
        async with httpx.AsyncClient(timeout=deps.webhook_timeout) as client:
            response = await client.request(inp.method, inp.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ApplicationError(f"webhook unreachable: {type(exc).__name__}", type="WebhookTemporary") from None
    if response.status_code >= 500 or response.status_code in RETRYABLE_HTTP:
        raise ApplicationError(f"webhook answered {response.status_code}", type="WebhookTemporary")
    if response.status_code >= 400:
        await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "failed", f"http {response.status_code}")
        return SendResult("failed", reason=f"http:{response.status_code}")
    await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "sent", f"http {response.status_code}")
    return SendResult("sent", detail={"status": response.status_code})
