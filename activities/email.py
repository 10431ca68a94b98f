"""The send_email activity: consent, render, ledger, SMTP — one complete effect."""

from __future__ import annotations

import asyncio
from typing import Any

from activities import send_gate, send_ledger
from activities.contracts import SendInput, SendResult
from activities.deps import Deps
from activities.email_build import BuildError, BuiltEmail, compose_email
from activities.outcomes import finished_with
from activities.render import RenderError
from activities.smtp_delivery import PermanentFailure
from compiler.ir import EmailTemplate, pick_locale
from tracking import tokens

CONFIRM_TTL_S = 7 * 86400


def email_templates(inp: SendInput) -> dict[str, EmailTemplate]:
    return {name: EmailTemplate(**fields) for name, fields in inp.templates.items()}


def confirm_url(deps: Deps, contact_id: int) -> str:
    """The double opt-in link: signed, typed, expiring."""
    token = deps.signer.sign(
        tokens.CONFIRM, contact_id=contact_id, channel="email", purpose="marketing", ttl_s=CONFIRM_TTL_S
    )
    return f"{deps.tracking_url}/confirm/{token}"


def message_context(deps: Deps, inp: SendInput) -> dict[str, Any]:
    """What the step's template sees for its contact (store reads; run it off the event loop)."""
    context = send_gate.template_context(deps, inp)
    context["confirm_url"] = confirm_url(deps, inp.ref.contact_id)
    return context


def compose_step_email(deps: Deps, inp: SendInput, context: dict[str, Any], *, to: str, locale: str | None,
                       **overrides: Any) -> BuiltEmail:
    """The step's message for one contact, in their locale: what send_email sends and what
    `cli.py preview` / `send-test` show and send (`overrides`: build_email's, e.g. tracking=False)."""
    template = pick_locale(email_templates(inp), inp.template_name, locale)
    options: dict[str, Any] = dict(
        to=to,
        sender=inp.sender or deps.sender,
        reply_to=inp.reply_to or deps.reply_to or None,
        message_key=inp.ref.key,
        base_url=deps.tracking_url,
        signer=deps.signer,
        contact_id=inp.ref.contact_id,
        domain=deps.message_domain,
        purpose=inp.purpose,
        parts=inp.parts,
        dkim=deps.dkim,
    )
    return compose_email(template, context, **{**options, **overrides})


async def send_email(deps: Deps, inp: SendInput) -> SendResult:
    cleared = await asyncio.to_thread(send_gate.check, deps, inp, "email")
    if isinstance(cleared, SendResult):
        return cleared
    context = await asyncio.to_thread(message_context, deps, inp)
    try:
        built = compose_step_email(deps, inp, context, to=cleared.address, locale=cleared.contact.locale)
    except (RenderError, BuildError) as exc:
        await asyncio.to_thread(deps.store.record_event, inp.ref.contact_id, "email.failed",
                                journey_id=inp.ref.journey_id, step_id=inp.ref.step_id,
                                data={"reason": type(exc).__name__})
        return SendResult("failed", reason="render_error")

    previous = await asyncio.to_thread(send_ledger.claim, deps, inp.ref, "email", built.message_id, built.links)
    if previous != "claimed":  # a concurrent attempt got further meanwhile
        return SendResult("sent", reason="already_sent", message_id=built.message_id,
                          finished=finished_with(previous, inp.finish))
    sent = await send_ledger.transmit(deps, inp.ref, built.message, [cleared.address])
    if sent.bounce is not None:
        return await _bounced(deps, inp, cleared.address, built.message_id, sent.bounce)
    if sent.uncertain:
        return SendResult("sent", reason="uncertain", message_id=built.message_id)
    await asyncio.to_thread(send_ledger.mark_sent, deps, inp.ref, "email.sent", built.message_id, finish=inp.finish)
    return SendResult("sent", message_id=built.message_id, finished=inp.finish)


async def _bounced(deps: Deps, inp: SendInput, address: str, message_id: str, exc: PermanentFailure) -> SendResult:
    """A 5xx: a bounce, never retried; 5.1.x suppresses the address; scoring and rules hear it."""
    if exc.bad_address:
        await asyncio.to_thread(deps.store.suppress, "email", address, reason="hard_bounce",
                                source=f"smtp {exc.code} {exc.enhanced}")
    await send_ledger.report(deps, inp.ref, "email.bounced", message_id=message_id,
                             data={"code": exc.code, "enhanced": exc.enhanced, "hard": exc.bad_address})
    return SendResult("failed", reason=send_ledger.bounce_reason(exc), message_id=message_id)
