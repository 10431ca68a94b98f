"""Bounce and complaint samples (tests/fixtures/bounces) filled in for a message of the test's own."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def filled(name: str, *, verp: str = "postmaster@northwind.example", rcpt: str, message_id: str) -> bytes:
    """A template sample with {VERP}, {RCPT} and {MESSAGE_ID} replaced."""
    text = sample(name).decode("utf-8")
    return text.replace("{VERP}", verp).replace("{RCPT}", rcpt).replace("{MESSAGE_ID}", message_id).encode("utf-8")
