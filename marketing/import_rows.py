"""One CSV row -> a clean contact record, or the reasons it is rejected.

Columns map to fields by name (external_id, email, phone, first_name, last_name, locale,
timezone, tags, do_not_contact) or by `--map column=field`, where field is one of those,
`attributes.NAME`, `consent.CHANNEL.PURPOSE` (a yes/true/1 value records that consent) or
`skip`. Any other column becomes an attribute of the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from activities.sms_text import InvalidPhoneNumber, to_e164
from store.addresses import check_timezone
from store.records import StoreError

TEXT_FIELDS = ("external_id", "first_name", "last_name", "locale", "timezone")
FIELDS = ("email", "phone", *TEXT_FIELDS, "tags", "do_not_contact", "skip")
TRUE = {"1", "true", "yes", "y", "si", "sí", "x"}
_TAG_SPLIT = re.compile(r"[;|,]")


class MappingError(ValueError):
    """A `--map` option that cannot be used."""


@dataclass
class Row:
    number: int  # data row number; the header is row 1
    fields: dict[str, str] = field(default_factory=dict)  # email/phone normalised
    attributes: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    consents: list[tuple[str, str]] = field(default_factory=list)
    do_not_contact: bool = False


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`column=field` options -> {column: field}; MappingError for a bad one."""
    out = {}
    for item in items:
        column, sep, target = item.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise MappingError(f"--map {item!r}: expected COLUMN=FIELD")
        if not (target in FIELDS or re.fullmatch(r"attributes\.[A-Za-z0-9_-]+", target)
                or re.fullmatch(r"consent\.[a-z]+\.[a-z0-9_-]+", target)):
            raise MappingError(f"--map {item!r}: unknown field {target!r} (one of {', '.join(FIELDS)}, "
                               "attributes.NAME, consent.CHANNEL.PURPOSE)")
        out[column] = target
    return out


def target_of(column: str, mapping: dict[str, str]) -> str:
    if column in mapping:
        return mapping[column]
    name = column.strip().lower()
    return name if name in FIELDS else f"attributes.{column.strip()}"


def parse_row(number: int, raw: dict[str, Any], targets: dict[str, str], region: str | None) -> tuple[Row, list[tuple[str, str]]]:
    """The clean row and its problems [(column, reason)] (a row with problems is rejected)."""
    row, problems = Row(number), []
    for column, value in raw.items():
        if column is None:
            problems.append(("", f"{len(value)} value(s) more than the header has columns"))
            continue
        value = (value or "").strip()
        target = targets[column]
        if not value or target == "skip":
            continue
        try:
            _set(row, target, value, region)
        except (ValueError, StoreError, InvalidPhoneNumber) as exc:
            problems.append((column, str(exc)))
    if not problems and not any(row.fields.get(k) for k in ("external_id", "email", "phone")):
        problems.append(("", "no external_id, email or phone: nothing to identify the contact by"))
    return row, problems


def _set(row: Row, target: str, value: str, region: str | None) -> None:
    if target == "email":
        try:
            row.fields["email"] = validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValueError(f"invalid email {value!r}: {exc}") from None
    elif target == "phone":
        row.fields["phone"] = to_e164(value, region)
    elif target == "timezone":
        row.fields["timezone"] = check_timezone(value)
    elif target in TEXT_FIELDS:
        row.fields[target] = value
    elif target == "tags":
        row.tags.extend(t.strip() for t in _TAG_SPLIT.split(value) if t.strip())
    elif target == "do_not_contact":
        row.do_not_contact = value.lower() in TRUE
    elif target.startswith("consent."):
        if value.lower() in TRUE:
            _, channel, purpose = target.split(".", 2)
            row.consents.append((channel, purpose))
    else:
        row.attributes[target.split(".", 1)[1]] = value
