"""Naming a contact from outside: `{"id": N}`, `{"external_id": ".."}` or `{"email": ".."}`
(the events API), or one word on the command line (an id, an email or an external id;
commands/contact_arg.py). An external id is the contact's current one or any earlier one
kept as an alias (store.find_contact looks in both)."""

from __future__ import annotations

from typing import Any

from store import StoreError

KEYS = ("id", "external_id", "email")


class BadContactRef(ValueError):
    """The reference itself is malformed (not: the contact does not exist)."""


def parse_ref(value: Any) -> tuple[str, Any]:
    """(key, value) from the API's contact object; BadContactRef if it is not exactly one known key."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in KEYS:
        raise BadContactRef('contact must be an object with exactly one of "id", "external_id", "email"')
    key, ref = next(iter(value.items()))
    if key == "id" and not (isinstance(ref, int) and not isinstance(ref, bool) and ref > 0):
        raise BadContactRef("contact.id must be a positive integer")
    if key != "id" and not (isinstance(ref, str) and ref.strip() and len(ref) <= 320):
        raise BadContactRef(f"contact.{key} must be a non-empty string")
    return key, ref


def resolve_text(store, text: str) -> int | None:
    """A command-line CONTACT: an id (digits), else an email (with '@'), else / then an external id."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return resolve(store, "id", int(text))
    if "@" in text:
        found = resolve(store, "email", text)
        if found is not None:
            return found
    return resolve(store, "external_id", text) if text else None


def resolve(store, key: str, ref: Any) -> int | None:
    """The live (not erased) contact's id, or None. A numeric CLI id that is no contact id is
    also tried as an external id."""
    if key == "id":
        contact = store.get_contact(ref) if ref < 2**63 else None
        if contact is not None and contact.erased_at is None:
            return contact.id
        return resolve(store, "external_id", str(ref))
    try:
        found = store.find_contact(**{key: ref})
    except StoreError:  # e.g. an email that is not an address
        return None
    return found.id if found is not None else None
