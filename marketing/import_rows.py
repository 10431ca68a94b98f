"""One CSV row -> a clean contact record, or the reasons it is rejected.

Columns map to fields by name (external_id, email, phone, first_name, last_name, locale,
timezone, tags, do_not_contact, stage, score) or by `--map column=field`, where field is one of those,
`attributes.NAME`, `consent.CHANNEL.PURPOSE` (a yes/true/1 value records that consent) or
`skip`. Any other column becomes an attribute of the same name. `stage` must be one of the
stages declared in stages.yaml (did-you-mean otherwise); `score` a whole number (what the import
does with them: marketing/contact_import.py).

A value that cannot be used (an invalid email or phone, a name with a control character...)
refuses that field only: the rest of the row is imported, and the problem is reported with
the column and why. A row is rejected whole only when nothing identifies the contact, or when
it has more values than the header has columns (its columns cannot be trusted).
Text is checked by store/contact_text.py, as for every other contact write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Collection

from email_validator import EmailNotValidError, validate_email

from activities.sms_text import InvalidPhoneNumber, to_e164
from compiler.conditions import did_you_mean
from store.addresses import check_timezone
from store.contact_text import check_attribute_value, check_line
from store.records import StoreError

TEXT_FIELDS = ("external_id", "first_name", "last_name", "locale", "timezone")
FIELDS = ("email", "phone", *TEXT_FIELDS, "tags", "do_not_contact", "stage", "score", "skip")
SCORE_LIMIT = 1_000_000  # an imported score is within ±this (the column is a 32-bit integer)
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
    columns: dict[str, str] = field(default_factory=dict)  # field (or attributes.NAME) -> its CSV column


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


def parse_row(number: int, raw: dict[str, Any], targets: dict[str, str], region: str | None,
              stages: Collection[str] = ()) -> tuple[Row | None, list[tuple[str, str]]]:
    """The clean row (None when the whole row is rejected) and the fields it refused [(column, reason)];
    `stages`: the declared stage ids a `stage` value must be one of."""
    row, problems = Row(number), []
    for column, value in raw.items():
        if column is None:
            return None, [("", f"{len(value)} value(s) more than the header has columns")]
        value = (value or "").strip()
        target = targets[column]
        if not value or target == "skip":
            continue
        try:
            _set(row, target, value, region, stages)
            row.columns[target] = column
        except (ValueError, StoreError, InvalidPhoneNumber) as exc:
            problems.append((column, str(exc)))
    if not any(row.fields.get(k) for k in ("external_id", "email", "phone")):
        return None, problems + [("", "no usable external_id, email or phone: nothing to identify the contact by")]
    return row, problems


def _phone(value: str, region: str | None) -> str:
    try:
        return to_e164(value, region)
    except InvalidPhoneNumber as exc:
        if region is None and not value.startswith("+"):
            raise InvalidPhoneNumber(f"phone {value!r} is in local format: give its country with --default-region "
                                     "(e.g. --default-region ES) or write it as +CC...") from None
        raise InvalidPhoneNumber(str(exc)) from None


def check_stage(value: str, stages: Collection[str]) -> str:
    """`value` if it is a declared stage, else ValueError naming the stages (did you mean...)."""
    if value not in stages:
        raise ValueError(f"unknown stage {value!r}{did_you_mean(value, tuple(stages))} "
                         f"(stages.yaml declares: {', '.join(stages) or 'none'})")
    return value


def _score(value: str) -> str:
    if not re.fullmatch(r"[+-]?[0-9]+", value) or abs(int(value)) > SCORE_LIMIT:
        raise ValueError(f"score {value!r} is not a whole number between -{SCORE_LIMIT} and {SCORE_LIMIT}")
    return str(int(value))


def _set(row: Row, target: str, value: str, region: str | None, stages: Collection[str]) -> None:
    if target == "email":
        try:
            row.fields["email"] = validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise ValueError(f"invalid email {value!r}: {exc}") from None
    elif target == "phone":
        row.fields["phone"] = _phone(value, region)
    elif target == "stage":
        row.fields["stage"] = check_stage(value, stages)
    elif target == "score":
        row.fields["score"] = _score(value)
    elif target == "timezone":
        row.fields["timezone"] = check_timezone(value)
    elif target in TEXT_FIELDS:
        row.fields[target] = check_line(target, value)
    elif target == "tags":
        row.tags.extend(check_line("tag", t).strip() for t in _TAG_SPLIT.split(value) if t.strip())
    elif target == "do_not_contact":
        row.do_not_contact = value.lower() in TRUE
    elif target.startswith("consent."):
        if value.lower() in TRUE:
            _, channel, purpose = target.split(".", 2)
            row.consents.append((channel, purpose))
    else:
        name = target.split(".", 1)[1]
        row.attributes[name] = check_attribute_value(name, value)
