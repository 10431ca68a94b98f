"""Identify: who a message from a website or CRM is about, creating or updating the contact.

    identify(store, user_id="crm-777", anonymous_id="a1b2", traits={"email": "ada@example.com"},
             context={"locale": "en-GB"}, at=None) -> contact id

Used by the Segment-compatible API (tracking/segment_api.py: identify, and track/page/alias to
find their contact) and by the hosted forms. The contact is found by `user_id` (its external id,
current or earlier), else by the `email` trait; else it is created. With only an anonymous id it
is that id's anonymous profile (created on first sight, store/ingest.py). When a known contact
and an anonymous profile meet, the profile's history is merged into the contact once (its
events move; scores are recomputed from the event log, as `scores rebuild` does); a later
identify finds the anonymous id already the contact's and changes nothing.

Traits (Segment's names, or ours) -> contact fields: email, phone, firstName/first_name,
lastName/last_name, locale, timezone; `userId`/`id`/`anonymousId` are ignored (the message
carries them); every other trait is kept as an attribute (company, plan, title, ...). Consent is
never taken from a trait: a `consent` trait is only an attribute. context.locale/timezone fill a
contact's empty locale/timezone. Invalid traits raise IdentifyError naming the JSON path, before
anything is written; call identify inside `store.transaction()` for all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store import StoreError
from store.addresses import check_timezone, normalise_email, normalise_phone
from store.contact_text import ContactTextError, check_attributes, check_line

FIELD_TRAITS = {
    "email": "email", "phone": "phone", "firstName": "first_name", "first_name": "first_name",
    "lastName": "last_name", "last_name": "last_name", "locale": "locale", "timezone": "timezone",
}
IGNORED_TRAITS = frozenset({"userId", "user_id", "id", "anonymousId", "anonymous_id"})
MAX_USER_ID = 200


class IdentifyError(ValueError):
    """A message that cannot identify anyone; `path` is the JSON path of the culprit field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Profile:
    """The validated traits: contact fields and attributes; `defaults`: fields from the context,
    written only where the contact has none."""

    fields: dict[str, Any]
    attributes: dict[str, Any]
    defaults: dict[str, Any]


def read_traits(traits: Any, context: Any = None, *, path: str = "traits") -> Profile:
    """Validate and map `traits` (and context.locale/timezone as defaults); IdentifyError."""
    if traits is None:
        traits = {}
    if not isinstance(traits, dict):
        raise IdentifyError(path, "must be an object")
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, value in traits.items():
        where = f"{path}.{name}"
        if name in IGNORED_TRAITS or value is None:
            continue
        field = FIELD_TRAITS.get(name)
        if field is None:
            attributes[name] = value
            continue
        if not isinstance(value, str) or not value.strip():
            raise IdentifyError(where, "must be a non-empty string")
        fields[field] = _field(where, field, value.strip())
    try:
        attributes = check_attributes(attributes)
    except ContactTextError as exc:
        raise IdentifyError(f"{path}.{exc.field.removeprefix('attributes.')}", str(exc)) from None
    defaults: dict[str, Any] = {}
    for key in ("locale", "timezone"):
        value = context.get(key) if isinstance(context, dict) else None
        if isinstance(value, str) and value.strip() and key not in fields:
            try:
                defaults[key] = _field(f"context.{key}", key, value.strip())
            except IdentifyError:
                pass  # a browser's odd locale or zone is not worth refusing the message for
    return Profile(fields, attributes, defaults)


def _field(where: str, field: str, value: str) -> str:
    try:
        if field == "email":
            return normalise_email(value)
        if field == "phone":
            return normalise_phone(value)
        if field == "timezone":
            return check_timezone(value)
        return check_line(field, value)
    except StoreError as exc:
        raise IdentifyError(where, str(exc)) from None


def check_user_id(value: Any, path: str = "userId") -> str | None:
    """A Segment userId (string or number) as an external id, or None; IdentifyError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise IdentifyError(path, "must be a string")
    text = str(value).strip()
    if not text or len(text) > MAX_USER_ID:
        raise IdentifyError(path, f"must be 1 to {MAX_USER_ID} characters")
    try:
        return check_line("external_id", text)
    except ContactTextError as exc:
        raise IdentifyError(path, str(exc)) from None


def identify(store: Any, *, user_id: str | None, anonymous_id: str | None, traits: dict[str, Any] | None = None,
             context: dict[str, Any] | None = None, at: datetime | None = None,
             scoring: Any = None) -> int:
    """The id of the contact the message is about, created or updated with `traits` (see the
    module doc). `at`: when it happened (an anonymous profile's activity time). `scoring`: the
    ScoringModel that recomputes scores after a merge (default: the live deployment's).
    IdentifyError for bad input (nothing written), StoreError when the store refuses."""
    user_id = check_user_id(user_id)
    profile = read_traits(traits, context)
    if user_id is None and anonymous_id is None and "email" not in profile.fields:
        raise IdentifyError("userId", "userId or anonymousId is required")
    if not (profile.fields or profile.attributes or profile.defaults):  # track/page: only find the contact
        found = _found(store, user_id, anonymous_id, at)
        if found is not None:
            return found
    known = _known(store, user_id, profile.fields.get("email"))
    anonymous = store.contact_of_anonymous_id(anonymous_id) if anonymous_id else None
    if known is None and anonymous is not None and (user_id is None or store.is_anonymous(anonymous)):
        contact_id = anonymous  # the anonymous id's contact, named now if it was anonymous
    elif known is None and user_id is None and "email" not in profile.fields:
        contact_id = store.create_anonymous(anonymous_id, at=at)
    elif known is None:
        contact_id = store.create_contact(external_id=user_id)
    else:
        contact_id = known
    if anonymous_id:
        if anonymous is None:
            store.link_anonymous_id(anonymous_id, contact_id)
        elif anonymous != contact_id and store.is_anonymous(anonymous):
            merge(store, anonymous, contact_id, scoring)
        # an anonymous id already another known contact's (a shared device): left as it is
    _apply(store, contact_id, user_id, profile)
    if store.is_anonymous(contact_id):
        if user_id is not None or "email" in profile.fields:
            store.promote_anonymous(contact_id)
        else:
            store.seen_anonymous(contact_id, at)
    return contact_id


def _found(store: Any, user_id: str | None, anonymous_id: str | None, at: datetime | None) -> int | None:
    """The fast path of a message without traits and with one id (the common track/page call):
    its contact, created if new; None when both ids are given (the full path ties them)."""
    if user_id is not None and anonymous_id is None:
        found = store.contact_id_by_external_id(user_id)
        if found is not None:
            return found
        try:
            return store.create_contact(external_id=user_id)
        except StoreError:  # created meanwhile by a concurrent message
            found = store.contact_id_by_external_id(user_id)
            if found is None:
                raise
            return found
    if user_id is None and anonymous_id is not None:
        found = store.contact_of_anonymous_id(anonymous_id)
        if found is None:
            return store.create_anonymous(anonymous_id, at=at)
        store.seen_anonymous(found, at)  # no-op for a known contact
        return found
    return None


def _known(store: Any, user_id: str | None, email: str | None) -> int | None:
    """The live known contact named by `user_id`, else by `email` unless it has another external id."""
    if user_id is not None:
        found = store.find_contact(external_id=user_id)
        if found is not None:
            return found.id
    if email is not None:
        found = store.find_contact(email=email)
        if found is not None and (user_id is None or found.external_id in (None, user_id)):
            return found.id
    return None


def _apply(store: Any, contact_id: int, user_id: str | None, profile: Profile) -> None:
    """Write the fields and attributes that differ from what the contact holds."""
    contact = store.get_contact(contact_id)
    changes = {k: v for k, v in profile.fields.items() if getattr(contact, k) != v}
    changes.update({k: v for k, v in profile.defaults.items() if getattr(contact, k) is None})
    if user_id is not None and contact.external_id != user_id and store.find_contact(external_id=user_id) is None:
        changes["external_id"] = user_id  # the email's contact gets its CRM id (the old one kept as alias)
    if changes:
        store.update_contact(contact_id, **changes)
    attrs = {k: v for k, v in profile.attributes.items() if contact.attributes.get(k) != v}
    if attrs:
        store.set_attributes(contact_id, attrs)


def merge(store: Any, anonymous_contact: int, into: int, scoring: Any = None) -> None:
    """Merge the anonymous profile into `into` and recompute `into`'s scores from its events;
    the rules see the merged history as past (no score threshold is crossed by it now)."""
    from marketing.scoring import rebuild

    if scoring is None:  # the model live for this store, as the scoring hook uses
        from marketing.hooks import load_models
        from marketing.model import folder_for

        scoring = load_models(folder_for(store))[0]
    with store.transaction():
        store.merge_anonymous(anonymous_contact, into)
        if scoring is not None:
            rebuild(store, scoring, into)
        store.take_score_changes(into, level=None)
