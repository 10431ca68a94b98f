"""Twilio webhooks: message status callbacks and inbound replies (STOP / START / HELP).

Both check `X-Twilio-Signature` against the public URL the provider was given (403 if it
does not match). Unknown numbers and messages get an empty 200 (so the provider does not
retry) and nothing is recorded.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from store import Contact, ContactNotFound, StoreError
from tracking import twilio_signature
from tracking.context import Tracking

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
DELIVERED, FAILED = frozenset({"delivered"}), frozenset({"failed", "undelivered"})
MAX_BODY_CHARS = 1600

HELP_REPLY = "{org}: marketing messages. Reply STOP to unsubscribe, START to subscribe again. Msg&data rates may apply."
STOP_REPLY = "You are unsubscribed from {org} and will receive no more messages. Reply START to subscribe again."
START_REPLY = "You are subscribed to {org} messages again. Reply STOP to unsubscribe, HELP for help."


def twiml(message: str | None = None) -> Response:
    inner = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>', media_type="text/xml")


async def signed_form(ctx: Tracking, request: Request) -> FormData | None:
    """The POSTed form if its Twilio signature matches the public URL, else None."""
    try:
        form = await request.form(max_files=0, max_fields=100)
    except Exception:  # noqa: BLE001 - not a readable form: cannot be signed either
        return None
    url = ctx.url(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get(twilio_signature.HEADER)
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    return form if twilio_signature.verify(url, pairs, ctx.twilio_auth_token, signature) else None


def _find_by_phone(store, number: str) -> Contact | None:
    try:
        return store.find_contact(phone=number) if number else None
    except StoreError:  # an unparseable number is an unknown one
        return None


def _sent_message(store, contact: Contact, provider_sid: str) -> str | None:
    """The Message-ID of the SMS the provider knows as `provider_sid` (from its sms.sent event)."""
    for event in store.events_for(contact.id, type="sms.sent"):
        if provider_sid and event.data.get("provider_sid") == provider_sid:
            return event.message_id
    return None


async def status(request: Request) -> Response:
    """POST /sms/status: delivered -> sms.delivered; failed/undelivered -> sms.failed."""
    ctx: Tracking = request.app.state.tracking
    form = await signed_form(ctx, request)
    if form is None:
        return PlainTextResponse("bad signature", status_code=403)
    state, sid = str(form.get("MessageStatus", "")), str(form.get("MessageSid", ""))
    event_type = "sms.delivered" if state in DELIVERED else "sms.failed" if state in FAILED else None
    contact = await ctx.run(_find_by_phone, ctx.store, str(form.get("To", "")))
    if event_type is None or contact is None:
        return PlainTextResponse("", status_code=200)
    message_id = await ctx.run(_sent_message, ctx.store, contact, sid)
    if message_id is None:
        return PlainTextResponse("", status_code=200)
    data: dict[str, Any] = {"provider_sid": sid, "status": state}
    if form.get("ErrorCode"):
        data["error_code"] = str(form.get("ErrorCode"))
    try:
        await ctx.publish(contact.id, event_type, data=data, message_id=message_id)
    except ContactNotFound:
        pass
    return PlainTextResponse("", status_code=200)


def keyword(body: str) -> str:
    """The reply's keyword (first word, upper case), as carriers read it."""
    words = body.strip().split()
    return words[0].upper().strip(".!") if words else ""


async def inbound(request: Request) -> Response:
    """POST /sms/inbound: STOP withdraws and suppresses, START re-grants marketing, HELP answers."""
    from engine.consent import start_sms, stop_sms

    ctx: Tracking = request.app.state.tracking
    form = await signed_form(ctx, request)
    if form is None:
        return PlainTextResponse("bad signature", status_code=403)
    phone, body = str(form.get("From", "")), str(form.get("Body", ""))[:MAX_BODY_CHARS]
    contact = await ctx.run(_find_by_phone, ctx.store, phone)
    if contact is None:
        return twiml()
    word, org = keyword(body), ctx.consent_model.organisation or "Nurture"
    source = f"sms {word}" if word in STOP_WORDS | START_WORDS else "sms reply"
    reply: str | None = None
    try:
        if word in STOP_WORDS:
            await ctx.run(stop_sms, ctx.store, contact.id, phone, source=source, evidence=str(form.get("MessageSid", "")) or None)
            reply = STOP_REPLY.format(org=org)
        elif word in START_WORDS:
            await ctx.run(start_sms, ctx.store, contact.id, phone, source=source,
                          wording_version=ctx.consent_model.wording_version("marketing"))
            reply = START_REPLY.format(org=org)
        elif word in HELP_WORDS:
            reply = HELP_REPLY.format(org=org)
        await ctx.publish(contact.id, "sms.replied", data={"keyword": word, "body": body})
    except ContactNotFound:
        return twiml()
    if word in STOP_WORDS | START_WORDS:
        await ctx.consent_changed(contact.id)
    return twiml(reply)
