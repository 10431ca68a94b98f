"""The compact binary form of a token's fields, the plaintext that tracking.tokens encrypts.

    kind byte, then one record per field: a tag byte (field number * 4 + value type) and the value

Value types: 0 an integer (zigzag varint), 1 UTF-8 text (varint length, bytes), 2 a Message-ID
of our own shape `<32 hex digits@domain>` (16 raw bytes, then the domain as text), 3 bare 32
lowercase hex digits (16 raw bytes: a bounce token holds a Message-ID without its domain). Binary rather
than JSON because every byte saved here is 4/3 of a character in every link of every message
(and SMS counts characters). Only bytes that the AEAD authenticated are ever decoded, so the
decoder's job is to be exact, not to resist attackers: anything unexpected is a ValueError.
"""

from __future__ import annotations

import re
from typing import Any

# Append-only: the position is written into every token issued.
KIND_CODES = ("open", "click", "unsubscribe", "preferences", "confirm", "bounce")
FIELD_CODES = ("message_id", "link", "contact_id", "channel", "purpose", "expires_at")
INT, TEXT, MESSAGE_ID, HEX16 = 0, 1, 2, 3
_OUR_MESSAGE_ID = re.compile(r"^<([0-9a-f]{32})@([^<>@\s]+)>$")
_HEX16 = re.compile(r"^[0-9a-f]{32}$")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _varint(len(raw)) + raw


def _record(code: int, value: Any) -> bytes:
    if isinstance(value, int):
        return bytes([code * 4 + INT]) + _varint(value * 2 if value >= 0 else -value * 2 - 1)
    match = _OUR_MESSAGE_ID.match(value)
    if match:
        return bytes([code * 4 + MESSAGE_ID]) + bytes.fromhex(match[1]) + _text(match[2])
    if _HEX16.match(value):
        return bytes([code * 4 + HEX16]) + bytes.fromhex(value)
    return bytes([code * 4 + TEXT]) + _text(value)


def pack(kind: str, fields: dict[str, Any]) -> bytes:
    """`kind` and already checked `fields` (ints and non-empty text) as bytes, fields in code order."""
    out = bytes([KIND_CODES.index(kind)])
    for code, name in enumerate(FIELD_CODES):
        if name in fields:
            out += _record(code, fields[name])
    return out


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw, self.pos = raw, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.raw):
            raise ValueError("truncated payload")
        self.pos += n
        return self.raw[self.pos - n:self.pos]

    def varint(self) -> int:
        n = shift = 0
        while True:
            byte = self.take(1)[0]
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return n
            if shift > 63:
                raise ValueError("varint too long")

    def text(self) -> str:
        return self.take(self.varint()).decode("utf-8")


def unpack(raw: bytes) -> tuple[str, dict[str, Any]]:
    """(kind, fields) from `pack`'s bytes; ValueError for anything `pack` does not write."""
    reader = _Reader(raw)
    kind_code = reader.take(1)[0]
    if kind_code >= len(KIND_CODES):
        raise ValueError("unknown kind")
    fields: dict[str, Any] = {}
    last = -1
    while reader.pos < len(raw):
        tag = reader.take(1)[0]
        code, value_type = divmod(tag, 4)
        if code >= len(FIELD_CODES) or code <= last:
            raise ValueError("unknown, repeated or unordered field")
        last = code
        if value_type == INT:
            n = reader.varint()
            value: Any = n // 2 if n % 2 == 0 else -(n + 1) // 2
        elif value_type == TEXT:
            value = reader.text()
        elif value_type == MESSAGE_ID:
            value = f"<{reader.take(16).hex()}@{reader.text()}>"
        elif value_type == HEX16:
            value = reader.take(16).hex()
        else:
            raise ValueError("unknown value type")
        fields[FIELD_CODES[code]] = value
    return KIND_CODES[kind_code], fields
