"""The send_sms activity over a Twilio-compatible Messages API (form POST, basic auth)."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.exceptions import ApplicationError

from activities import send_gate
from activities.contracts import SendInput, SendResult
from activities.deps import Deps
from activities.email_build import message_id_for
from activities.render import RenderError, render_text
from activities.sms_text import segments, to_e164
from activities.timing import step_now
from compiler.ir import SmsTemplate, pick_locale

# Twilio error codes: the recipient replied STOP / the number is not valid
UNSUBSCRIBED_RECIPIENT = 21610
INVALID_NUMBERS = (21211, 21614)


def messages_url(deps: Deps) -> str:
    return f"{deps.sms.base_url.rstrip('/')}/2010-04-01/Accounts/{deps.sms.account_sid}/Messages.json"


async def send_sms(deps: Deps, inp: SendInput) -> SendResult:
    store = deps.store
    cleared = await asyncio.to_thread(send_gate.check, deps, inp, "sms")
    if isinstance(cleared, SendResult):
        return cleared
    try:
        to = to_e164(cleared.address, deps.sms.default_region)
    except ValueError:
        return SendResult("failed", reason="invalid_number")
    context = await asyncio.to_thread(send_gate.template_context, deps, inp)
    templates = {name: SmsTemplate(**fields) for name, fields in inp.templates.items()}
    try:
        body = render_text(pick_locale(templates, inp.template_name, cleared.contact.locale).body, context, part="sms")
    except RenderError:
        return SendResult("failed", reason="render_error")
    size = segments(body)
    message_id = message_id_for(inp.ref.key, deps.message_domain)
    await asyncio.to_thread(
        store.ledger_claim,
        inp.ref.key,
        contact_id=inp.ref.contact_id,
        journey_id=inp.ref.journey_id,
        step_id=inp.ref.step_id,
        channel="sms",
        message_id=message_id,
    )
    form = {"To": to, "From": deps.sms.sender, "Body": body}
    if deps.sms.status_callback:
        form["StatusCallback"] = deps.sms.status_callback
    await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "transmitting")
    try:
        async with httpx.AsyncClient(timeout=15.0) as client:
            response = await client.post(
                messages_url(deps), data=form, auth=(deps.sms.account_sid, deps.sms.auth_token)
            )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached the API
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "claimed", type(exc).__name__)
        raise ApplicationError(f"SMS API unreachable: {type(exc).__name__}", type="SmsTemporary") from None
    except httpx.HTTPError as exc:  # the request may have been accepted
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "uncertain", type(exc).__name__)
        return SendResult("sent", reason="uncertain", message_id=message_id)
    detail = {"segments": size.segments, "encoding": size.encoding}
    if response.status_code == 429 or response.status_code >= 500:
        await asyncio.to_thread(store.ledger_set_status, inp.ref.key, "claimed", f"http {response.status_code}")
        raise ApplicationError(f"SMS API answered {response.status_code}", type="SmsTemporary")
    if response.status_code >= 400:
        return await asyncio.to_thread(_refused, deps, inp, cleared.address, message_id, response)
    provider_sid = _json(response).get("sid", "")
    await asyncio.to_thread(_sent, deps, inp, message_id, {**detail, "provider_sid": provider_sid})
    return SendResult("sent", message_id=message_id, detail=detail)


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _sent(deps: Deps, inp: SendInput, message_id: str, data: dict) -> None:
    at = step_now(inp.ref.at)
    deps.store.ledger_set_status(inp.ref.key, "sent", data.get("provider_sid"), at=at)
    deps.store.record_event(
        inp.ref.contact_id, "sms.sent", journey_id=inp.ref.journey_id, step_id=inp.ref.step_id,
        message_id=message_id, data=data, at=at,
    )


def _refused(deps: Deps, inp: SendInput, phone: str, message_id: str, response: httpx.Response) -> SendResult:
    code = _json(response).get("code")
    reason = f"refused:{code or response.status_code}"
    deps.store.ledger_set_status(inp.ref.key, "failed", reason)
    deps.store.record_event(
        inp.ref.contact_id, "sms.failed", journey_id=inp.ref.journey_id, step_id=inp.ref.step_id,
        message_id=message_id, data={"status": response.status_code, "code": code},
    )
    if code == UNSUBSCRIBED_RECIPIENT:
        deps.store.suppress("sms", phone, reason="stop", source="sms provider 21610")
    if code in INVALID_NUMBERS:
        reason = "invalid_number"
    return SendResult("failed", reason=reason, message_id=message_id)
