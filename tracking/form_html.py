"""The HTML of a hosted subscribe form (journeys/forms.yaml): the same `<form>` for the page at
/f/<form> and for `cli.py forms snippet` (embedded in a site). Plain, accessible (labels, fieldset,
errors tied to their input with aria-describedby), every value escaped, no script. Its empty
`anonymous_id` is filled in by the page snippet (t.js) once the person consented, so the visits
made before signing up become the new contact's (engine.identify)."""

from __future__ import annotations

from html import escape
from typing import Mapping

from compiler.consent_pages import Localized
from compiler.forms_model import Form
from tracking.form_guard import HONEYPOT

INPUT_TYPES = {"email": ("email", "email"), "phone": ("tel", "tel"), "first_name": ("text", "given-name"),
               "last_name": ("text", "family-name")}
# off-screen rather than display:none (which some bots skip), out of the tab order and of screen readers
HIDDEN_STYLE = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"


def offer_value(purpose: str, channel: str) -> str:
    return f"{purpose}:{channel}"


def form_html(form: Form, locale: str, words: Localized, action: str, *, token: str | None = None,
              values: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
              checked: frozenset[str] = frozenset(), notice: str = "") -> str:
    """The `<form>` element in `locale`; `values`/`errors`/`checked` re-show a refused submission."""
    texts, values, errors = form.texts[locale], values or {}, errors or {}
    parts = [f'<form method="post" action="{escape(action)}" class="nurture-form" novalidate>']
    if notice:
        parts.append(f'<p class="status error" role="alert">{escape(notice)}</p>')
    if texts.get("intro"):
        parts.append(f"<p>{escape(texts['intro'])}</p>")
    for f in form.fields:
        kind, autocomplete = INPUT_TYPES[f.name]
        ident, error = f"f-{f.name}", errors.get(f.name)
        described = f' aria-invalid="true" aria-describedby="e-{f.name}"' if error else ""
        required = " required" if f.required else ""
        parts.append(
            f'<p><label for="{ident}">{escape(texts["fields"][f.name])}{" *" if f.required else ""}</label><br>'
            f'<input type="{kind}" id="{ident}" name="{f.name}" autocomplete="{autocomplete}" maxlength="200" '
            f'value="{escape(values.get(f.name, ""))}"{required}{described}>'
            + (f'<br><span class="error" id="e-{f.name}">{escape(error)}</span>' if error else "") + "</p>")
    for offer in form.consent:
        value = offer_value(offer.purpose, offer.channel)
        ident = "c-" + value.replace(":", "-")
        label, wording = words.purpose(offer.purpose)
        error = errors.get(value)
        described = f' aria-invalid="true" aria-describedby="e-{ident}"' if error else ""
        parts.append(
            f'<fieldset><legend>{escape(label)} ({escape(words.channel(offer.channel))})</legend>'
            f'<label for="{ident}"><input type="checkbox" id="{ident}" name="consent" value="{escape(value)}"'
            f'{" checked" if value in checked else ""}{" required" if offer.required else ""}{described}> '
            f'{escape(wording)}{" *" if offer.required else ""}</label>'
            f'<input type="hidden" name="version:{escape(value)}" value="{escape(offer.version)}">'
            + (f'<br><span class="error" id="e-{ident}">{escape(error)}</span>' if error else "") + "</fieldset>")
    parts.append(
        f'<div style="{HIDDEN_STYLE}" aria-hidden="true"><label for="f-{HONEYPOT}">Leave this empty</label>'
        f'<input type="text" id="f-{HONEYPOT}" name="{HONEYPOT}" tabindex="-1" autocomplete="off" value=""></div>'
        f'<input type="hidden" name="locale" value="{escape(locale)}">'
        '<input type="hidden" name="anonymous_id" value="">'
        + (f'<input type="hidden" name="token" value="{escape(token)}">' if token else "")
        + f'<button type="submit">{escape(texts["submit"])}</button></form>')
    return "".join(parts)
