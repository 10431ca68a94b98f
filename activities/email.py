"""The send_email activity: consent, render, ledger, SMTP — one complete effect."""

from __future__ import annotations

import asyncio
from email.utils import parseaddr

from temporalio.exceptions import ApplicationError

from activities import send_gate
from activities.contracts import SendInput, SendResult
from activities.deps import Deps
from activities.email_build import BuildError, compose_email
from activities.render import RenderError
from activities.smtp_delivery import PermanentFailure, TemporaryFailure, Uncertain, deliver
from activities.timing import step_now
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


async def send_email(deps: Deps, inp: SendInput) -> SendResult:
    store = deps.store
    cleared = await asyncio.to_thread(send_gate.check, deps, inp, "email")
    if isinstance(cleared, SendResult):
        return cleared
    context = await asyncio.to_thread(send_gate.template_context, deps, inp)
    context["confirm_url"] = confirm_url(deps, inp.ref.contact_id)
    template = pick_locale(email_templates(inp), inp.template_name, cleared.contact.locale)
    try:
        built = compose_email(
            template,
            context,
            to=cleared.address,
            sender=deps.sender,
            message_key=inp.ref.key,
            base_url=deps.tracking_url,
            signer=deps.signer,
            contact_id=inp.ref.contact_id,
            domain=deps.message_domain,
            purpose=inp.purpose,
            parts=inp.parts,
        )
    except (RenderError, BuildError) as exc:
        await asyncio.to_thread(store.record_event, inp.ref.contact_id, "email.failed",
                                journey_id=inp.ref.journey_id, step_id=inp.ref.step_id,
                                data={"reason": type(exc).__name__})
        return SendResult("failed", reason="render_error")

    await asyncio.to_thread(
        store.ledger_claim,
        inp.ref.key,
        contact_id=inp.ref.contact_id,
        journey_id=inp.ref.journey_id,
        step_id=inp.ref.step_id,
        channel="email",
        message_id=built.message_id,
    )
    await asyncio.to_thread(
        store.save_message,
        built.message_id,
        contact_id=inp.ref.contact_id,
        journey_id=inp.ref.journey_id,
        step_id=inp.ref.step_id,
        channel="email",
        links=built.links,
    )

    async def transmitting() -> None:
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "transmitting")

    envelope_from = parseaddr(deps.sender)[1]
    try:
        await deliver(deps.smtp, built.message, envelope_from, [cleared.address], transmitting)
    except TemporaryFailure as exc:
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "claimed", exc.reply[:200])
        raise ApplicationError(f"temporary SMTP failure: {exc}", type="SmtpTemporary") from None
    except PermanentFailure as exc:
        return await asyncio.to_thread(_bounced, deps, inp, cleared.address, built.message_id, exc)
    except Uncertain as exc:
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "uncertain", str(exc))
        return SendResult("sent", reason="uncertain", message_id=built.message_id)
    await asyncio.to_thread(_sent, deps, inp, built.message_id)
    return SendResult("sent", message_id=built.message_id)


def _sent(deps: Deps, inp: SendInput, message_id: str) -> None:
    at = step_now(inp.ref.at)
    deps.store.ledger_set_status(inp.ref.key, "sent", at=at)
    deps.store.record_event(
        inp.ref.contact_id, "email.sent", journey_id=inp.ref.journey_id, step_id=inp.ref.step_id,
        message_id=message_id, at=at,
    )


def _bounced(deps: Deps, inp: SendInput, address: str, message_id: str, exc: PermanentFailure) -> SendResult:
    """A 5xx: recorded as a bounce, never retried; 5.1.x suppresses the address."""
    reason = f"bounced:{exc.code}" + (f" {exc.enhanced}" if exc.enhanced else "")
    deps.store.ledger_set_status(inp.ref.key, "failed", reason)
    deps.store.record_event(
        inp.ref.contact_id,
        "email.bounced",
        journey_id=inp.ref.journey_id,
        step_id=inp.ref.step_id,
        message_id=message_id,
        data={"code": exc.code, "enhanced": exc.enhanced, "hard": exc.bad_address},
    )
    if exc.bad_address:
        deps.store.suppress("email", address, reason="hard_bounce", source=f"smtp {exc.code} {exc.enhanced}")
    return SendResult("failed", reason=reason, message_id=message_id)
