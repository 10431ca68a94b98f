"""Data keys: random AES-256 keys, wrapped with the key-encryption key (AES-GCM, the key id
as associated data) and kept in the store (store.codec_keys); unwrapped keys are cached briefly."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEK_ENV = "NURTURE_CODEC_KEY"
SYSTEM = "system"  # the key id of payloads that belong to no contact
CACHE_SECONDS = 30.0  # how long a worker may still use a key after another process erased it


class CodecKeyError(ValueError):
    """The codec is misconfigured (no key-encryption key) or a wrapped key does not open."""


class KeyShredded(LookupError):
    """The payload's data key was deleted (the contact was erased): it can no longer be read."""


def key_id(contact_id: int | None) -> str:
    return SYSTEM if contact_id is None else f"contact:{contact_id}"


def kek_from_secret(secret: str) -> AESGCM:
    """The key-encryption key derived (HKDF-SHA256) from any secret string of 16+ characters."""
    if len(secret) < 16:
        raise CodecKeyError(f"{KEK_ENV} must be a secret of at least 16 characters")
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nurture payload codec kek").derive(secret.encode())
    return AESGCM(raw)


class KeyRing:
    """Data keys by contact, backed by the store. Thread-safe enough: the store is."""

    def __init__(self, store: Any, kek: AESGCM, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.kek = kek
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[AESGCM, float]] = {}

    @classmethod
    def from_env(cls, store: Any) -> "KeyRing":
        secret = os.environ.get(KEK_ENV)
        if not secret:
            raise CodecKeyError(f"the payload codec needs a key-encryption key in {KEK_ENV}")
        return cls(store, kek_from_secret(secret))

    def _wrap(self, kid: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.kek.encrypt(nonce, key, kid.encode())

    def _unwrap(self, kid: str, wrapped: bytes) -> AESGCM:
        try:
            return AESGCM(self.kek.decrypt(wrapped[:12], wrapped[12:], kid.encode()))
        except Exception:  # InvalidTag: another key-encryption key, or a tampered row
            raise CodecKeyError(f"the data key {kid} does not open with this {KEK_ENV}") from None

    def _cached(self, kid: str) -> AESGCM | None:
        hit = self._cache.get(kid)
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def _remember(self, kid: str, key: AESGCM) -> AESGCM:
        self._cache[kid] = (key, time.monotonic() + self.cache_seconds)
        return key

    def forget(self, contact_id: int | None = None) -> None:
        """Drop a cached key (or all): the next use reads the store again."""
        if contact_id is None:
            self._cache.clear()
        else:
            self._cache.pop(key_id(contact_id), None)

    def for_encrypt(self, contact_id: int | None) -> tuple[str, AESGCM]:
        """(key id, key) to seal a new payload; creates the contact's key on first use. An
        unknown or erased contact's payloads are sealed with the system key."""
        kid = key_id(contact_id)
        cached = self._cached(kid)
        if cached is not None:
            return kid, cached
        wrapped = self.store.codec_key(contact_id) or self.store.add_codec_key(
            contact_id, self._wrap(kid, AESGCM.generate_key(bit_length=256)))
        if wrapped is None:
            return self.for_encrypt(None)
        return kid, self._remember(kid, self._unwrap(kid, wrapped))

    def for_decrypt(self, kid: str) -> AESGCM:
        """The key named in a payload's metadata; KeyShredded if it was deleted."""
        cached = self._cached(kid)
        if cached is not None:
            return cached
        contact_id = None if kid == SYSTEM else _contact_of_key_id(kid)
        wrapped = self.store.codec_key(contact_id)
        if wrapped is None:
            raise KeyShredded(f"data key {kid} no longer exists (contact erased)")
        return self._remember(kid, self._unwrap(kid, wrapped))

    async def for_encrypt_async(self, contact_id: int | None) -> tuple[str, AESGCM]:
        cached = self._cached(key_id(contact_id))
        return (key_id(contact_id), cached) if cached else await asyncio.to_thread(self.for_encrypt, contact_id)

    async def for_decrypt_async(self, kid: str) -> AESGCM:
        return self._cached(kid) or await asyncio.to_thread(self.for_decrypt, kid)


def _contact_of_key_id(kid: str) -> int:
    prefix, _, number = kid.partition(":")
    if prefix != "contact" or not number.isdigit():
        raise CodecKeyError(f"unknown key id {kid!r}")
    return int(number)
