"""A CONTACT on the command line: a contact id, an email or an external id (current or an
earlier one, see store/contacts.py), for every command that names one contact.

    p.add_argument("contact", metavar="CONTACT", help=HELP)
    cid = contact_id(store, args.contact)     # ContactNotFound (a StoreError): one line, exit 1
"""

from __future__ import annotations

from typing import Any

from store import ContactNotFound

HELP = "contact id, email or external id"


def contact_id(store: Any, text: str, *, erased: bool = False) -> int:
    """The id of the contact `text` names (tracking.contact_ref.resolve_text), or ContactNotFound
    with a one-line reason. With `erased`, an id of an erased contact is accepted too (export
    shows its tombstone, erase says it is already erased); an erased contact has no email or
    external id left to be found by."""
    from tracking.contact_ref import resolve_text

    text = text.strip()
    if erased and text.isascii() and text.isdigit() and int(text) < 2**63:
        found = store.get_contact(int(text))
        if found is not None:
            return found.id
    cid = resolve_text(store, text)
    if cid is None:
        raise ContactNotFound(f"no contact {text!r} (give a contact id, an email or an external id)")
    return cid
