"""The send_sms activity over a Twilio-compatible Messages API (form POST, basic auth)."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.exceptions import ApplicationError

from activities import send_gate, send_ledger
from activities.contracts import SendInput, SendResult
from activities.deps import Deps
from activities.email_build import message_id_for
from activities.outcomes import finished_with
from activities.render import RenderError, render_text
from activities.sms_text import segments, to_e164
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
    previous = await asyncio.to_thread(send_ledger.claim, deps, inp.ref, "sms", message_id)
    if previous != "claimed":
        return SendResult("sent", reason="already_sent", message_id=message_id,
                          finished=finished_with(previous, inp.finish))
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
        return await _refused(deps, inp, cleared.address, message_id, response)
    provider_sid = _json(response).get("sid", "")
    await asyncio.to_thread(send_ledger.mark_sent, deps, inp.ref, "sms.sent", message_id,
                            {**detail, "provider_sid": provider_sid}, provider_sid, inp.finish)
    return SendResult("sent", message_id=message_id, detail=detail, finished=inp.finish)


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _refused(deps: Deps, inp: SendInput, phone: str, message_id: str, response: httpx.Response) -> SendResult:
    """The API refused the message for good (4xx): failed; a number that replied STOP is suppressed."""
    code = _json(response).get("code")
    reason = f"refused:{code or response.status_code}"
    await asyncio.to_thread(deps.store.ledger_set_status, inp.ref.key, "failed", reason)
    if code == UNSUBSCRIBED_RECIPIENT:
        await asyncio.to_thread(deps.store.suppress, "sms", phone, reason="stop", source="sms provider 21610")
    await send_ledger.report(deps, inp.ref, "sms.failed", message_id=message_id,
                             data={"status": response.status_code, "code": code})
    return SendResult("failed", reason="invalid_number" if code in INVALID_NUMBERS else reason, message_id=message_id)
