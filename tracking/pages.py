"""The tracking server's HTML: small, accessible pages that work without JavaScript.

Every value put into a page goes through `html.escape`. Pages carry headers that keep the
token in their URL out of referrers, frames and caches. Their words come in the contact's
locale from journeys/consent.yaml (`pages:`), as a `compiler.consent_pages.Localized`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from starlette.responses import HTMLResponse

from compiler.consent_pages import Localized

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}

STYLE = """
body{font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f6f6f4;margin:0}
main{max-width:38rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.5rem;margin-top:0}
fieldset{border:1px solid #c8c8c8;border-radius:6px;margin:0 0 1rem;padding:.75rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.wording{margin:.25rem 0 .5rem;color:#404040}
label{display:inline-flex;align-items:center;gap:.4rem;margin-right:1.25rem;padding:.25rem 0;cursor:pointer}
input[type=checkbox]{width:1.2rem;height:1.2rem}
button{font:inherit;padding:.55rem 1.1rem;border-radius:6px;border:2px solid #1f4fbf;background:#1f4fbf;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f4fbf}
a{color:#1f4fbf}
:focus-visible{outline:3px solid #b34700;outline-offset:2px}
.status{padding:.5rem .75rem;border-left:4px solid #2d7d32;background:#eef6ee}
.error{border-left-color:#b00020;background:#fdecee}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1rem}
"""


def page(title: str, body: str, *, status_code: int = 200, lang: str = "en") -> HTMLResponse:
    """A complete page; `body` is trusted HTML built by this module's callers with `escape`."""
    text = (
        f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(text, status_code=status_code, headers=SECURITY_HEADERS)


def message_page(title: str, text: str, *, status_code: int = 200, lang: str = "en") -> HTMLResponse:
    """A heading and one paragraph: thank-you pages and refusals."""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>", status_code=status_code, lang=lang)


def text_page(t: Localized, name: str, *, status_code: int = 200, **values: str) -> HTMLResponse:
    """The `{name}_title` / `{name}_text` pair of the contact's locale as a message page."""
    return message_page(t.text(f"{name}_title"), t.text(f"{name}_text", **values), status_code=status_code,
                        lang=t.lang)


def bad_link(t: Localized, status_code: int = 400) -> HTMLResponse:
    return text_page(t, "bad_link", status_code=status_code)


def unsubscribe_form(t: Localized, what: str, action: str, preferences_url: str | None) -> HTMLResponse:
    more = f' <a href="{escape(preferences_url)}">{escape(t.text("unsubscribe_instead"))}</a>.' if preferences_url else ""
    title = t.text("unsubscribe_title")
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(t.text('unsubscribe_question', what=what))}{more}</p>"
        f'<form method="post" action="{escape(action)}"><button type="submit">'
        f'{escape(t.text("unsubscribe_button"))}</button></form>'
    )
    return page(title, body, lang=t.lang)


def confirm_form(t: Localized, what: str, action: str) -> HTMLResponse:
    title = t.text("confirm_title")
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(t.text('confirm_question', what=what))}</p>"
        f'<form method="post" action="{escape(action)}"><button type="submit">'
        f'{escape(t.text("confirm_button"))}</button></form>'
    )
    return page(title, body, lang=t.lang)


def unsubscribed(t: Localized, what: str) -> HTMLResponse:
    return text_page(t, "unsubscribed", what=what)


@dataclass(frozen=True)
class Choice:
    """One checkbox of the preference page."""

    value: str  # "purpose:channel"
    label: str  # the channel as people call it
    checked: bool


@dataclass(frozen=True)
class ChoiceGroup:
    """One fieldset: a purpose with its wording and a checkbox per channel."""

    name: str
    legend: str
    wording: str
    choices: tuple[Choice, ...]


def preferences_form(t: Localized, groups: list[ChoiceGroup], action: str, *, organisation: str,
                     notice: str = "") -> HTMLResponse:
    """The preference page: a fieldset per purpose, a labelled checkbox per channel."""
    heading = t.text("preferences_title_at", organisation=organisation) if organisation else t.text("preferences_title")
    parts = [f"<h1>{escape(heading)}</h1>"]
    if notice:
        parts.append(f'<p class="status" role="status">{escape(notice)}</p>')
    parts.append(f"<p>{escape(t.text('preferences_intro'))}</p>")
    parts.append(f'<form method="post" action="{escape(action)}">')
    for group in groups:
        parts.append(f'<fieldset><legend>{escape(group.legend)}</legend>')
        parts.append(f'<p class="wording" id="w-{escape(group.name)}">{escape(group.wording)}</p>')
        for choice in group.choices:
            ident = "c-" + choice.value.replace(":", "-")
            checked = " checked" if choice.checked else ""
            parts.append(
                f'<label for="{escape(ident)}"><input type="checkbox" id="{escape(ident)}" name="consent" '
                f'value="{escape(choice.value)}" aria-describedby="w-{escape(group.name)}"{checked}> '
                f"{escape(choice.label)}</label>"
            )
        parts.append("</fieldset>")
    parts.append(
        f'<div class="actions"><button type="submit" name="action" value="save">{escape(t.text("preferences_save"))}'
        '</button><button type="submit" name="action" value="unsubscribe_all" class="secondary">'
        f'{escape(t.text("preferences_unsubscribe_all"))}</button></div></form>'
    )
    return page(t.text("preferences_title"), "".join(parts), lang=t.lang)
