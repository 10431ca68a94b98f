"""Hosted subscribe forms: `GET /f/{form}` renders a form of journeys/forms.yaml in the browser's
language, `POST /f/{form}` subscribes.

A submission, in order: the per-IP rate limit (429 + Retry-After), the honeypot (a filled one gets
the normal thank-you and nothing is stored), the CSRF token or an allowed Origin (403), then the
fields (400 with the form again, values kept, an error at each field). Then the contact is upserted
(engine.identify, by email), each consent ticked is recorded as `pending` with its proof (wording
version shown, time, IP, user agent, form id, page URL, locale) unless that purpose is already
granted or confirmed, and if anything became pending `contact.subscribed` is published (the
double-opt-in journey starts; following its link confirms: tracking/pending_consent.py). A contact
whose consent is already confirmed is not asked to confirm again. The answer is the same whether
or not the address was known (no way to probe who subscribed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from compiler.forms_model import Form, Forms, load_forms
from engine.identify import IdentifyError, identify, read_traits
from store import ContactNotFound, StoreError
from tracking import pages
from tracking.context import TemporalUnavailable, Tracking
from tracking.email_routes import GRANTING, client_meta
from tracking.form_guard import HONEYPOT, FormGuard, origin_allowed
from tracking.form_html import form_html, offer_value

SUBSCRIBED = "contact.subscribed"
MAX_BODY = 16 * 1024
MAX_FIELDS = 40
ANONYMOUS_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")  # what t.js makes (a UUID), with room for other clients


@dataclass
class FormsState:
    """The forms and their guard, per app (created on first use, or set by tests)."""

    forms: Forms
    guard: FormGuard


def forms_path() -> Path:
    return Path(os.environ.get("NURTURE_JOURNEYS_DIR") or "journeys") / "forms.yaml"


def _state(request: Request) -> FormsState:
    app_state = request.app.state
    if getattr(app_state, "forms", None) is None:
        ctx: Tracking = app_state.tracking
        path = forms_path()  # no forms.yaml: no forms (404); a broken one fails loudly (validate says why)
        app_state.forms = FormsState(load_forms(path) if path.exists() else Forms({}), FormGuard(ctx.signer))
    return app_state.forms


def _wanted_locales(request: Request, given: str | None) -> list[str]:
    """`given` (the form's hidden field or ?lang=), then Accept-Language by preference."""
    ranked = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag and tag != "*":
            ranked.append((-weight, len(ranked), tag))
    return ([given] if given else []) + [tag for _, _, tag in sorted(ranked)]


def _page(ctx: Tracking, form: Form, locale: str, request: Request, state: FormsState, *, status: int = 200,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          checked: frozenset[str] = frozenset(), notice: str = "") -> HTMLResponse:
    texts = form.texts[locale]
    body = form_html(form, locale, ctx.consent_model.localized(locale), request.url.path,
                     token=state.guard.token(form.id), values=values, errors=errors, checked=checked, notice=notice)
    response = pages.page(texts["title"], f"<h1>{escape(texts['title'])}</h1>{body}", status_code=status, lang=locale)
    if form.redirect:  # browsers apply form-action to the redirect after the POST too
        target = "/".join(form.redirect.split("/")[:3])
        policy = pages.SECURITY_HEADERS["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = policy.replace("form-action 'self'", f"form-action 'self' {target}")
    return response


def embedded_form(request: Request, form_id: str, lang: str | None = None) -> str | None:
    """The `<form>` of `form_id` with a fresh token, for a page this server renders (the demo site)."""
    ctx: Tracking = request.app.state.tracking
    state = _state(request)
    form = state.forms.get(form_id)
    if form is None:
        return None
    locale = form.pick_locale(_wanted_locales(request, lang))
    return form_html(form, locale, ctx.consent_model.localized(locale), f"/f/{form.id}", token=state.guard.token(form.id))


def _thanks(form: Form, locale: str) -> Response:
    if form.redirect:
        return RedirectResponse(form.redirect, status_code=303)
    texts = form.texts[locale]
    return pages.message_page(texts["thanks_title"], texts["thanks_text"], lang=locale)


async def show_form(request: Request) -> Response:
    """GET /f/{form}: the form in the browser's language (?lang=es to choose)."""
    ctx: Tracking = request.app.state.tracking
    state = _state(request)
    form = state.forms.get(request.path_params["form"])
    if form is None:
        return pages.message_page("Not found", "There is no such form.", status_code=404)
    return _page(ctx, form, form.pick_locale(_wanted_locales(request, request.query_params.get("lang"))), request, state)


def _read(form: Form, data: FormData, texts: dict[str, Any]) -> tuple[dict[str, str], set[str], dict[str, str]]:
    """(field values, consent values ticked, errors by field or consent value)."""
    values = {f.name: str(data.get(f.name) or "").strip()[:500] for f in form.fields}
    ticked = {str(v) for v in data.getlist("consent")}
    errors = {f.name: texts["required_error"] for f in form.fields if f.required and not values[f.name]}
    for name, value in values.items():
        if value and name not in errors:
            try:
                read_traits({name: value})
            except IdentifyError:
                errors[name] = texts["invalid_error"]
    for offer in form.consent:
        if offer.required and offer_value(offer.purpose, offer.channel) not in ticked:
            errors[offer_value(offer.purpose, offer.channel)] = texts["required_error"]
    return values, ticked, errors


def _subscribe(ctx: Tracking, form: Form, values: dict[str, str], ticked: set[str], locale: str,
               anonymous_id: str | None, proof: dict[str, Any]) -> tuple[int, list[str]]:
    """Upsert the contact and record the pending consents; (contact id, "purpose:channel" now pending)."""
    store = ctx.store
    with store.transaction():
        contact_id = identify(store, user_id=None, anonymous_id=anonymous_id,
                              traits={k: v for k, v in values.items() if v}, context={"locale": locale})
        pending = []
        for offer in form.consent:
            value = offer_value(offer.purpose, offer.channel)
            state = store.consent_state(contact_id, offer.channel, offer.purpose)
            if value not in ticked or (state is not None and state.status in GRANTING):
                continue  # never downgrade a consent already given; a confirmed one is not asked again
            store.record_consent(contact_id, offer.channel, offer.purpose, "pending", source=f"form:{form.id}",
                                 wording_version=offer.version, ip=proof["ip"], user_agent=proof["user_agent"],
                                 evidence={"form": form.id, "page_url": proof["page_url"], "locale": locale})
            pending.append(value)
    return contact_id, pending


async def submit_form(request: Request) -> Response:
    """POST /f/{form}: see the module doc."""
    ctx: Tracking = request.app.state.tracking
    state = _state(request)
    form = state.forms.get(request.path_params["form"])
    if form is None:
        return pages.message_page("Not found", "There is no such form.", status_code=404)
    meta = client_meta(request)
    retry = state.guard.allow(form.rate_limit, form.id, meta["ip"] or "unknown")
    if retry is not None:
        response = pages.message_page("Too many requests", "Please try again later.", status_code=429)
        response.headers["Retry-After"] = str(retry)
        return response
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return pages.message_page("Too large", "The form is too large.", status_code=413)
    try:
        data = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - unreadable form data
        return pages.message_page("Bad request", "The form could not be read.", status_code=400)
    locale = form.pick_locale(_wanted_locales(request, str(data.get("locale") or "") or None))
    texts = form.texts[locale]
    if data.get(HONEYPOT):
        return _thanks(form, locale)  # a bot: the usual answer, nothing stored
    if not (state.guard.token_ok(form.id, str(data.get("token") or "")) or origin_allowed(request.headers, form.allowed_origins)):
        return pages.message_page("Not allowed", texts["retry_error"], status_code=403, lang=locale)
    values, ticked, errors = _read(form, data, texts)
    offered = {offer_value(o.purpose, o.channel): o.version for o in form.consent}
    unknown = ticked - offered.keys()
    stale = [v for v in ticked & offered.keys() if data.get(f"version:{v}") != offered[v]]
    if errors or unknown or stale:
        return _page(ctx, form, locale, request, state, status=409 if stale and not errors else 400, values=values,
                     errors=errors, checked=frozenset(ticked & offered.keys()),
                     notice=texts["retry_error"] if stale or unknown else "")
    given_id = str(data.get("anonymous_id") or "")
    anonymous_id = given_id if ANONYMOUS_ID.fullmatch(given_id) else None  # else ignored: not the person's fault
    proof = {**meta, "page_url": (request.headers.get("referer") or str(request.url))[:1000]}
    try:
        await ctx.client()  # no Temporal: refuse before storing (the confirmation could not be sent)
        contact_id, pending = await ctx.run(_subscribe, ctx, form, values, ticked, locale, anonymous_id, proof)
        if pending:
            await ctx.publish(contact_id, SUBSCRIBED, data={"form": form.id, "consent": pending}, degrade=False)
    except TemporalUnavailable:
        return pages.message_page("Please try again", "We cannot take your subscription right now.", status_code=503,
                                  lang=locale)
    except (StoreError, ContactNotFound, IdentifyError):
        return _page(ctx, form, locale, request, state, status=400, values=values, checked=frozenset(ticked),
                     notice=texts["invalid_error"])
    return _thanks(form, locale)
