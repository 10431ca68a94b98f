"""Suppression: keyed hashes of normalised addresses, per channel."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import text

from store import Store, StoreError, normalise_address


def test_normalise_address() -> None:
    assert normalise_address("email", "  Ana@EXAMPLE.com ") == "ana@example.com"
    assert normalise_address("sms", "+34 600-111-222") == "+34600111222"
    with pytest.raises(StoreError, match="unknown channel 'fax'"):
        normalise_address("fax", "123")
    with pytest.raises(StoreError, match="invalid email"):
        normalise_address("email", "ana@")


def test_suppress_is_idempotent_per_channel_and_keeps_first_reason(store: Store) -> None:
    assert store.suppression_reason("email", "ana@example.com") is None
    store.suppress("email", "Ana@Example.com", reason="hard_bounce", source="smtp 550 5.1.1")
    store.suppress("email", "ana@example.com ", reason="complaint", source="fbl")
    assert store.suppression_reason("email", "ANA@example.com") == "hard_bounce"
    assert store.suppression_reason("sms", "+34600111222") is None
    store.suppress("sms", "+34 600 111 222", reason="stop", source="STOP reply")
    assert store.suppression_reason("sms", "+34600111222") == "stop"
    with pytest.raises(StoreError, match="reason must be one of"):
        store.suppress("email", "b@example.com", reason="because", source="x")
    with store._engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, address_hash, reason FROM suppression ORDER BY id")).all()
    assert [(r.channel, r.reason) for r in rows] == [("email", "hard_bounce"), ("sms", "stop")]
    assert all("@" not in r.address_hash and "+34" not in r.address_hash and len(r.address_hash) == 64 for r in rows)


def test_key_is_stored_on_first_open_and_reused(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NURTURE_SUPPRESSION_KEY", raising=False)
    with Store.open(db_url) as first:
        first.suppress("email", "x@example.com", reason="unsubscribe", source="link")
        with first._engine.connect() as conn:
            key = conn.execute(text("SELECT value FROM settings WHERE name = 'suppression_key'")).scalar_one()
            stored_hash = conn.execute(text("SELECT address_hash FROM suppression")).scalar_one()
    assert len(key) == 64
    assert stored_hash == hmac.new(key.encode(), b"email:x@example.com", hashlib.sha256).hexdigest()
    with Store.open(db_url) as again:
        assert again.suppression_reason("email", "X@example.com") == "unsubscribe"


def test_key_from_environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SUPPRESSION_KEY", "k3y")
    with Store.open(sqlite_url) as store:
        assert store.address_hash("email", "A@b.example") == hmac.new(
            b"k3y", b"email:a@b.example", hashlib.sha256).hexdigest()
