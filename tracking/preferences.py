"""The preference page (`/p/{token}`): the person sees their subscriptions per topic and channel
with the declared wording (journeys/consent.yaml, in their locale), changes them, and the change
is in the consent log before the next send (source "preference page", wording version, IP, user agent)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from compiler.consent_model import ConsentModel
from compiler.consent_pages import Localized
from store import Contact, ContactNotFound
from tracking import pages, tokens
from tracking.context import Tracking
from tracking.email_routes import GRANTING, client_meta, default_words

SOURCE = "preference page"
MAX_FIELDS = 200


def _reachable(contact: Contact, channel: str) -> bool:
    """Offer a channel only where the contact has an address for it."""
    return {"email": bool(contact.email), "sms": bool(contact.phone)}.get(channel, True)


def current_choices(store, model: ConsentModel, contact: Contact) -> dict[str, bool]:
    """{"purpose:channel": granted?} for every choice the page offers this contact."""
    states = store.consent_states(contact.id)
    return {
        f"{p.name}:{channel}": (states.get(channel, {}).get(p.name) is not None
                                and states[channel][p.name].status in GRANTING)
        for p in model.on_preference_page()
        for channel in p.channels
        if _reachable(contact, channel)
    }


def _groups(model: ConsentModel, t: Localized, choices: dict[str, bool]) -> list[pages.ChoiceGroup]:
    groups = []
    for p in model.on_preference_page():
        items = tuple(
            pages.Choice(f"{p.name}:{ch}", t.channel(ch), choices[f"{p.name}:{ch}"])
            for ch in p.channels
            if f"{p.name}:{ch}" in choices
        )
        if items:
            label, wording = t.purpose(p.name)
            groups.append(pages.ChoiceGroup(p.name, label, wording, items))
    return groups


def apply_choices(store, model: ConsentModel, contact: Contact, wanted: set[str], meta: dict[str, Any]) -> int:
    """Record a consent event for every choice that changed; how many changed."""
    from engine.consent import grant, withdraw

    changed = 0
    for value, had in current_choices(store, model, contact).items():
        want = value in wanted
        if want == had:
            continue
        purpose, channel = value.split(":", 1)
        action = grant if want else withdraw
        action(store, contact.id, channel, purpose, source=SOURCE, wording_version=model.wording_version(purpose), **meta)
        changed += 1
    return changed


async def _contact(ctx: Tracking, request: Request) -> Contact | Response:
    verified = ctx.path_token(request, tokens.PREFERENCES)
    if verified is None:
        return pages.bad_link(default_words(ctx))
    fields, contact_id = verified
    contact = await ctx.run(ctx.store.get_contact, contact_id)
    if contact is None or contact.erased_at is not None:
        return pages.text_page(default_words(ctx), "gone", status_code=404)
    return contact


def _error(t: Localized, text: str) -> Response:
    return pages.message_page(t.text("preferences_error_title"), t.text(text), status_code=400, lang=t.lang)


async def _render(ctx: Tracking, request: Request, contact: Contact, notice_key: str = "") -> Response:
    choices = await ctx.run(current_choices, ctx.store, ctx.consent_model, contact)
    model = ctx.consent_model
    t = model.localized(contact.locale)
    return pages.preferences_form(t, _groups(model, t, choices), request.url.path, organisation=model.organisation,
                                  notice=t.text(notice_key) if notice_key else "")


async def preferences_page(request: Request) -> Response:
    """GET /p/{token}: the current choices."""
    ctx: Tracking = request.app.state.tracking
    found = await _contact(ctx, request)
    if isinstance(found, Response):
        return found
    return await _render(ctx, request, found)


async def save_preferences(request: Request) -> Response:
    """POST /p/{token}: apply the submitted choices at once; anything not offered is refused (400)."""
    ctx: Tracking = request.app.state.tracking
    found = await _contact(ctx, request)
    if isinstance(found, Response):
        return found
    t = ctx.consent_model.localized(found.locale)
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - unreadable form data
        return _error(t, "preferences_error_text")
    action = form.get("action", "save")
    wanted = {str(v) for v in form.getlist("consent")}
    offered = await ctx.run(current_choices, ctx.store, ctx.consent_model, found)
    if action not in ("save", "unsubscribe_all") or not wanted <= offered.keys():
        return _error(t, "preferences_reload_text")
    if action == "unsubscribe_all":
        wanted = set()
    try:
        changed = await ctx.run(apply_choices, ctx.store, ctx.consent_model, found, wanted, client_meta(request))
    except ContactNotFound:
        return pages.text_page(default_words(ctx), "gone", status_code=404)
    if changed:
        await ctx.consent_changed(found.id)
    notice_key = "preferences_saved" if changed else "preferences_unchanged"
    return await _render(ctx, request, found, notice_key)
