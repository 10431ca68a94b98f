"""Email tracking routes: open pixel, click redirect, unsubscribe, double opt-in confirmation.

Every token is verified first; a forged, tampered or wrong-kind token changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from activities.email import CONFIRM_TTL_S
from compiler.consent_pages import Localized
from store import ContactNotFound, StoreError
from tracking import pages, tokens
from tracking.bots import click_bot_reason, image_proxy, open_bot_reason
from tracking.context import Tracking, contact_id_of
from tracking.pending_consent import pending_purposes
from tracking.tokens import BadToken

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
GRANTING = ("granted", "confirmed")
ONE_CLICK = "One-Click"


def _ctx(request: Request) -> Tracking:
    return request.app.state.tracking


def default_words(ctx: Tracking) -> Localized:
    """The pages' words when no contact is known (a link that does not verify)."""
    return ctx.consent_model.localized(None)


async def words_for(ctx: Tracking, contact_id: int) -> Localized:
    """The pages' words in the contact's locale (consent.yaml `pages:`); the default language
    for an unknown or erased contact."""
    contact = await ctx.run(ctx.store.get_contact, contact_id)
    known = contact is not None and contact.erased_at is None
    return ctx.consent_model.localized(contact.locale if known else None)


def _pixel() -> Response:
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def client_meta(request: Request) -> dict[str, str | None]:
    agent = request.headers.get("user-agent")
    return {"ip": request.client.host if request.client else None, "user_agent": agent[:500] if agent else None}


async def open_pixel(request: Request) -> Response:
    """GET /o/{token}: always the pixel; a valid open records email.opened, a machine open
    (Apple MPP, a scanner, no user agent: tracking.bots) with likely_bot and its bot_reason."""
    ctx = _ctx(request)
    verified = ctx.path_token(request, tokens.OPEN)
    if verified is None:
        return _pixel()
    fields, contact_id = verified
    message = await ctx.run(ctx.store.get_message, fields["message_id"])
    if message is not None and message.contact_id == contact_id:
        meta = client_meta(request)
        bot = await ctx.run(open_bot_reason, ctx.store, message, meta["user_agent"], meta["ip"],
                            datetime.now(timezone.utc), ctx.bots)
        proxy = None if bot else image_proxy(meta["user_agent"])
        data = {"bot_reason": bot} if bot else ({"proxy": proxy} if proxy else {})
        try:
            await ctx.publish(contact_id, "email.opened", data=data, message_id=message.message_id,
                              likely_bot=bot is not None)
        except ContactNotFound:
            pass  # erased since: nothing to record
    return _pixel()


async def click(request: Request) -> Response:
    """GET /c/{token}: 302 to the URL stored for (message, link); never a URL from the request."""
    ctx = _ctx(request)
    verified = ctx.path_token(request, tokens.CLICK)
    if verified is None:
        return pages.bad_link(default_words(ctx))
    fields, contact_id = verified
    message = await ctx.run(ctx.store.get_message, fields["message_id"])
    index = fields["link"]
    owned = message is not None and message.contact_id == contact_id
    url = message.links[index] if owned and index < len(message.links) else None
    if url is None or not url.startswith(("https://", "http://")):
        return pages.text_page(await words_for(ctx, contact_id), "link_not_found", status_code=404)
    now = datetime.now(timezone.utc)
    bot = await ctx.run(click_bot_reason, ctx.store, message, index, now, ctx.bots)
    data: dict[str, Any] = {"link": index, "url": url, **({"bot_reason": bot} if bot else {})}
    try:
        await ctx.publish(contact_id, "email.clicked", data=data, message_id=message.message_id, likely_bot=bot is not None)
    except ContactNotFound:
        pass
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


async def unsubscribe_page(request: Request) -> Response:
    """GET /u/{token}: a confirmation page with a POST form (GET alone changes nothing)."""
    ctx = _ctx(request)
    verified = ctx.path_token(request, tokens.UNSUBSCRIBE)
    if verified is None:
        return pages.bad_link(default_words(ctx))
    fields, contact_id = verified
    prefs = ctx.signer.sign(tokens.PREFERENCES, contact_id=fields["contact_id"], message_id=fields.get("message_id"))
    t = await words_for(ctx, contact_id)
    return pages.unsubscribe_form(t, t.what(fields["channel"], fields["purpose"]), request.url.path, f"/p/{prefs}")


async def _is_one_click(request: Request) -> bool:
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:  # noqa: BLE001 - an unreadable body is simply not the one-click form
        return False
    return form.get("List-Unsubscribe") == ONE_CLICK


async def unsubscribe(request: Request) -> Response:
    """POST /u/{token}: withdraw that channel+purpose at once. RFC 8058 one-click: 200, no redirect."""
    ctx = _ctx(request)
    verified = ctx.path_token(request, tokens.UNSUBSCRIBE)
    if verified is None:
        return pages.bad_link(default_words(ctx))
    fields, contact_id = verified
    channel, purpose = fields["channel"], fields["purpose"]
    one_click = await _is_one_click(request)
    try:
        changed = await ctx.run(_withdraw, ctx, contact_id, channel, purpose, client_meta(request),
                                "list-unsubscribe one-click" if one_click else "unsubscribe link")
    except ContactNotFound:
        changed = False  # erased: nothing left to send to
    if changed:
        await ctx.publish(contact_id, f"{channel}.unsubscribed", data={"channel": channel, "purpose": purpose},
                          message_id=fields.get("message_id"))
        await ctx.consent_changed(contact_id)
    if one_click:
        return PlainTextResponse("Unsubscribed.", headers={"Cache-Control": "no-store"})
    t = await words_for(ctx, contact_id)
    return pages.unsubscribed(t, t.what(channel, purpose))


def _withdraw(ctx: Tracking, contact_id: int, channel: str, purpose: str, meta: dict[str, str | None],
              source: str) -> bool:
    """Withdraw unless already withdrawn (idempotent); True when a consent event was added.
    ContactNotFound (from the store) for an unknown or erased contact."""
    from engine.consent import withdraw

    state = ctx.store.consent_state(contact_id, channel, purpose)
    if state is not None and state.status == "withdrawn":
        return False
    withdraw(ctx.store, contact_id, channel, purpose, source=source,
             wording_version=ctx.consent_model.wording_version(purpose), **meta)
    return True


def _confirm_token(ctx: Tracking, token: str) -> tuple[dict[str, Any], int] | Response:
    """The confirm token's fields and contact, or the page that says why not (expired: 410)."""
    try:
        fields = ctx.signer.verify(token, tokens.CONFIRM)
    except BadToken as exc:
        if exc.reason == tokens.EXPIRED:  # (the fields of an expired token are not read: default words)
            return pages.text_page(default_words(ctx), "confirm_expired", status_code=410)
        return pages.bad_link(default_words(ctx))
    contact_id = contact_id_of(fields)
    return pages.bad_link(default_words(ctx)) if contact_id is None else (fields, contact_id)


async def confirm_page(request: Request) -> Response:
    """GET /confirm/{token}: a page with a button; nothing changes yet. Mail security scanners
    open every link in a message, so a GET alone must never confirm a subscription."""
    ctx = _ctx(request)
    checked = _confirm_token(ctx, request.path_params["token"])
    if isinstance(checked, Response):
        return checked
    fields, contact_id = checked
    t = await words_for(ctx, contact_id)
    return pages.confirm_form(t, t.what(fields["channel"], fields["purpose"]), request.url.path)


async def confirm(request: Request) -> Response:
    """POST /confirm/{token}: double opt-in; consent becomes confirmed. Expired links get 410."""
    ctx = _ctx(request)
    token = request.path_params["token"]
    checked = _confirm_token(ctx, token)
    if isinstance(checked, Response):
        return checked
    fields, contact_id = checked
    t = await words_for(ctx, contact_id)
    evidence = "sha256:" + hashlib.sha256(token.encode("ascii")).hexdigest()
    try:
        outcome = await ctx.run(_confirm, ctx, contact_id, fields, evidence, client_meta(request))
    except (ContactNotFound, StoreError):
        return pages.bad_link(t, 404)
    if outcome == "withdrawn_since":
        return pages.text_page(t, "confirm_withdrawn", status_code=409)
    if outcome == "confirmed":
        await ctx.publish(contact_id, "consent.confirmed",
                          data={"channel": fields["channel"], "purpose": fields["purpose"]})
        await ctx.consent_changed(contact_id)
    return pages.text_page(t, "confirmed")


def _confirm(ctx: Tracking, contact_id: int, fields: dict[str, Any], evidence: str, meta: dict[str, str | None]) -> str:
    """"confirmed", "already" (idempotent) or "withdrawn_since" (withdrawn after the link was issued)."""
    from engine.consent import confirm as confirm_consent

    channel, purpose = fields["channel"], fields["purpose"]
    state = ctx.store.consent_state(contact_id, channel, purpose)
    pending = pending_purposes(ctx.store, contact_id, channel)  # asked for on a form: confirm those
    if not pending and state is not None and state.status == "confirmed":
        return "already"
    issued = fields["expires_at"] - CONFIRM_TTL_S
    if not pending and state is not None and state.status == "withdrawn" and state.at.timestamp() > issued:
        return "withdrawn_since"
    for each in pending or [purpose]:
        confirm_consent(ctx.store, contact_id, channel, each, source="double opt-in link", evidence=evidence,
                        wording_version=ctx.consent_model.wording_version(each), **meta)
    return "confirmed"
