"""Read the SMTP sink's kept messages (.eml files, named in arrival order)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutboxEntry:
    path: Path
    date: str
    to: str
    subject: str


def read_outbox(folder: str | Path, last: int | None = None) -> list[OutboxEntry]:
    """The kept messages, oldest first (only the `last` N when given)."""
    files = sorted(Path(folder).glob("*.eml"))
    if last is not None:
        files = files[-last:] if last > 0 else []
    out: list[OutboxEntry] = []
    for path in files:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        out.append(OutboxEntry(path, str(msg.get("Date", "")), str(msg.get("To", "")), str(msg.get("Subject", ""))))
    return out
