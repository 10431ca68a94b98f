"""The one check of contact text before it is stored: names, ids, attributes and tags.

Every contact write passes here (store/contacts.py for the store API, and through it the
events/identify paths; marketing/import_rows.py for each imported field), so text with control
characters never reaches the store, a template, or an email header. Names are kept as given:
Unicode NFC, accents and case untouched (callers trim surrounding spaces).

- names and ids (first_name, last_name, external_id, locale, tags): no control character at
  all (CR, LF, NUL, TAB, the rest of C0, DEL, C1) and no Unicode line or paragraph separator;
- text attribute values (at any depth): the same, except TAB, which free text may hold.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from store.records import StoreError

LINE_SEPARATORS = frozenset("\u2028\u2029")


class ContactTextError(StoreError):
    """Text with a control character, refused for one field (`field` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _bad_char(value: str, allow_tab: bool) -> str | None:
    for ch in value:
        if ch == "\t" and allow_tab:
            continue
        if ch in LINE_SEPARATORS or unicodedata.category(ch) == "Cc":
            return ch
    return None


def check_line(field: str, value: str, *, allow_tab: bool = False) -> str:
    """`value` in NFC; ContactTextError naming `field` if it holds a control character."""
    bad = _bad_char(value, allow_tab)
    if bad is not None:
        raise ContactTextError(field, f"{field} contains a control character (U+{ord(bad):04X}); "
                                      "names and text fields must be one line of printable text")
    return unicodedata.normalize("NFC", value)


def check_attribute_value(name: str, value: Any) -> Any:
    """A JSON attribute value with every string in it checked (TAB allowed) and put in NFC."""
    field = f"attributes.{name}"
    if isinstance(value, str):
        bad = _bad_char(value, allow_tab=True)
        if bad is not None:
            raise ContactTextError(field, f"{field} contains a control character (U+{ord(bad):04X}); "
                                          "text attributes must be one line (TAB allowed)")
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {check_line("attribute name", str(k)): check_attribute_value(name, v) for k, v in value.items()}
    if isinstance(value, list):
        return [check_attribute_value(name, v) for v in value]
    return value


def check_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Every attribute name (one line) and value checked; the cleaned copy."""
    return {check_line("attribute name", key): check_attribute_value(key, value) for key, value in attributes.items()}
