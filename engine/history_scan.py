"""Find personal data in Temporal histories: the promise that only ids go to Temporal, checked.

A history's JSON shows payloads as base64, so a plain text search would miss whatever sits in
inputs, results and signals: `readable()` decodes every payload first. Simulations scan every
run they made (so every simulation in the test suite is checked), and the reliability suite
scans whole servers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from temporalio.client import WorkflowHistory

from codec.history import iter_payloads

_DIGITS = re.compile(r"\d[\d \-().]{7,18}\d")


@dataclass
class PersonalData:
    """What must never appear: addresses, phone numbers (matched on their last 9 digits, in any
    formatting) and names (whole words, case-insensitive)."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add(self, *, email: str | None = None, phone: str | None = None, names: Iterable[str | None] = ()) -> None:
        if email:
            self.emails.add(email.lower())
        if phone and len(re.sub(r"\D", "", phone)) >= 9:
            self.phones.add(re.sub(r"\D", "", phone)[-9:])
        self.names.update(n.lower() for n in names if n and len(n) >= 2)

    def found_in(self, text: str) -> list[str]:
        lower = text.lower()
        found = [e for e in self.emails if e in lower]
        digits = {re.sub(r"\D", "", m)[-9:] for m in _DIGITS.findall(text)}
        found += [f"phone ...{p[-4:]}" for p in self.phones if p in digits]
        found += [n for n in self.names if re.search(rf"\b{re.escape(n)}\b", lower)]
        return sorted(found)


def readable(history: WorkflowHistory) -> str:
    """The history as JSON plus every payload's bytes (and metadata) as text."""
    parts = [history.to_json()]
    for event in history.events:
        for payload in iter_payloads(event):
            parts.append(payload.data.decode("utf-8", "replace"))
            parts.extend(v.decode("utf-8", "replace") for v in payload.metadata.values())
    return "\n".join(parts)


def personal_data_in(history: WorkflowHistory, person: PersonalData) -> list[str]:
    return person.found_in(readable(history))
