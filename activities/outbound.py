"""Internal notifications (e.g. to sales) and webhooks to other systems."""

from __future__ import annotations

import asyncio
import hashlib
import httpx
from temporalio.exceptions import ApplicationError

from activities import send_gate, send_ledger
from activities.consent import decide
from activities.contracts import NotifyInput, SendResult, WebhookInput
from activities.deps import Deps
from activities.email_build import build_email
from activities.render import RenderError, render_email, render_text
from compiler.ir import EmailTemplate

RETRYABLE_HTTP = (408, 425, 429)


async def notify(deps: Deps, inp: NotifyInput) -> SendResult:
    """An internal email to a team (or an address): about the contact, not to them."""
    recipients = deps.teams.get(inp.to) or ([inp.to] if "@" in inp.to else [])
    if not recipients:
        return SendResult("failed", reason="unknown_team")
    previous = await asyncio.to_thread(send_ledger.claim, deps, inp.ref, "notify", "")
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

    sent = await send_ledger.transmit(deps, inp.ref, built.message, recipients)
    if sent.bounce is not None:
        return SendResult("failed", reason=send_ledger.bounce_reason(sent.bounce))
    if sent.uncertain:
        return SendResult("sent", reason="uncertain", message_id=built.message_id)
    team = inp.to if "@" not in inp.to else "address"
    await asyncio.to_thread(send_ledger.mark_sent, deps, inp.ref, "notify.sent", None, {"to": team})
    return SendResult("sent", message_id=built.message_id)


async def call_webhook(deps: Deps, inp: WebhookInput) -> SendResult:
    """Call another system. Carrying personal data needs the `webhook` consent purpose."""
    if inp.purpose:
        decision = await asyncio.to_thread(decide, deps.store, inp.ref, "webhook", inp.purpose, None)
        if not decision.granted:
            return SendResult("skipped", reason=decision.reason)
    previous = await asyncio.to_thread(send_ledger.claim, deps, inp.ref, "webhook", "")
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
