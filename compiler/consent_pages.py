"""The words of the unsubscribe, confirmation and preference pages, per locale
(`pages:` in journeys/consent.yaml; loaded by compiler.consent_model).

A locale's block holds every page text (TEXTS, with the placeholders each may use) and, for a
locale other than the model's `language`, the label of every channel and the label and wording
of every purpose, with the `version` of the wording it translates (a stale translation is an
error when the wording's version is bumped). Without `pages:` the built-in English texts apply.

Public API:
    TEXTS                                     text key -> the placeholders it may use
    ENGLISH                                   the built-in English texts
    Localized                                 the words for one contact: text(), what(), purpose(), channel()
    pick_locale(contact_locale, available, default) -> locale
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Mapping

# every key a locale's block must hold, in page order, with the placeholders it may use
TEXTS: dict[str, tuple[str, ...]] = {
    "what": ("purpose", "channel"),
    "bad_link_title": (),
    "bad_link_text": (),
    "link_not_found_title": (),
    "link_not_found_text": (),
    "gone_title": (),
    "gone_text": (),
    "unsubscribe_title": (),
    "unsubscribe_question": ("what",),
    "unsubscribe_instead": (),
    "unsubscribe_button": (),
    "unsubscribed_title": (),
    "unsubscribed_text": ("what",),
    "confirm_title": (),
    "confirm_question": ("what",),
    "confirm_button": (),
    "confirmed_title": (),
    "confirmed_text": (),
    "confirm_expired_title": (),
    "confirm_expired_text": (),
    "confirm_withdrawn_title": (),
    "confirm_withdrawn_text": (),
    "preferences_title": (),
    "preferences_title_at": ("organisation",),
    "preferences_intro": (),
    "preferences_save": (),
    "preferences_unsubscribe_all": (),
    "preferences_saved": (),
    "preferences_unchanged": (),
    "preferences_error_title": (),
    "preferences_error_text": (),
    "preferences_reload_text": (),
}

ENGLISH: dict[str, str] = {
    "what": "{purpose} by {channel}",
    "bad_link_title": "This link does not work",
    "bad_link_text": "The link is incomplete or has been changed. Please use the link exactly as it appears in the message.",
    "link_not_found_title": "Link not found",
    "link_not_found_text": "This link is no longer available.",
    "gone_title": "Nothing on record",
    "gone_text": "We hold no data about you any more.",
    "unsubscribe_title": "Unsubscribe",
    "unsubscribe_question": "Stop receiving {what}?",
    "unsubscribe_instead": "Choose what you receive instead",
    "unsubscribe_button": "Unsubscribe",
    "unsubscribed_title": "You are unsubscribed",
    "unsubscribed_text": "You will not receive {what} any more.",
    "confirm_title": "Confirm your subscription",
    "confirm_question": "Yes, send me {what}.",
    "confirm_button": "Confirm my subscription",
    "confirmed_title": "Thank you",
    "confirmed_text": "Your subscription is confirmed.",
    "confirm_expired_title": "This link has expired",
    "confirm_expired_text": "Confirmation links work for 7 days. Please sign up again to get a new one.",
    "confirm_withdrawn_title": "You have unsubscribed",
    "confirm_withdrawn_text": "You unsubscribed after this link was sent, so it no longer signs you up. Please sign up again.",
    "preferences_title": "Your preferences",
    "preferences_title_at": "Your preferences at {organisation}",
    "preferences_intro": "Choose what we may send you and how. Changes apply straight away.",
    "preferences_save": "Save my choices",
    "preferences_unsubscribe_all": "Unsubscribe from all",
    "preferences_saved": "Your choices are saved.",
    "preferences_unchanged": "No changes: your choices were already saved.",
    "preferences_error_title": "Could not read your choices",
    "preferences_error_text": "Please try again.",
    "preferences_reload_text": "Please reload the page and try again.",
}


def placeholders(text: str) -> list[str]:
    """The `{name}`s of a text; ValueError for a lone brace (write `{{` / `}}` for one)."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


@dataclass(frozen=True)
class LocalePages:
    """One locale's block: page texts, and (other than the default language) translations."""

    texts: Mapping[str, str]
    channels: Mapping[str, str] = field(default_factory=dict)  # channel -> label
    purposes: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # purpose -> (label, wording)


@dataclass(frozen=True)
class Localized:
    """The words of the pages for one locale; channels and purposes this locale does not
    translate fall back to the model's declared (default-language) labels and wording."""

    lang: str
    pages: LocalePages
    channel_labels: Mapping[str, str]
    purpose_texts: Mapping[str, tuple[str, str]]

    def text(self, key: str, **values: Any) -> str:
        return self.pages.texts[key].format(**values)

    def channel(self, name: str) -> str:
        return self.pages.channels.get(name) or self.channel_labels.get(name, name)

    def purpose(self, name: str) -> tuple[str, str]:
        """(label, wording); the raw name for an undeclared purpose."""
        return self.pages.purposes.get(name) or self.purpose_texts.get(name, (name, ""))

    def what(self, channel: str, purpose: str) -> str:
        """'Offers and news by Email' / 'Ofertas y novedades por correo electrónico'."""
        return self.text("what", purpose=self.purpose(purpose)[0], channel=self.channel(channel))


def normal_locale(locale: str) -> str:
    return locale.strip().lower().replace("_", "-")


def pick_locale(contact_locale: str | None, available: Mapping[str, Any], default: str) -> str:
    """`es-MX` -> `es-mx` if there are pages for it, else `es`, else `default`."""
    if contact_locale:
        wanted = normal_locale(contact_locale)
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in available:
                return candidate
    return default
