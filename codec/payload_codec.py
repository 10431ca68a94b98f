"""The Temporal PayloadCodec: each payload sealed with AES-GCM under its contact's data key.

Which contact? Temporal hands the codec a serialization context naming the workflow id (on the
client, in the worker's workflow and activity paths); journey runs are
`journey/<journey>/<contact id>[/key]`. Payloads of other workflows (segment sweeps) and those
without a context (the UI's codec server encoding) are sealed with the system key. Failures are
encoded too: the data converter uses DefaultFailureConverterWithEncodedAttributes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from codec.keys import KeyRing, KeyShredded

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
CIPHER = "encryption-cipher"
AES_GCM = b"AES256-GCM"


def contact_of_workflow(workflow_id: str | None) -> int | None:
    """The contact id in a journey run's workflow id, else None."""
    parts = (workflow_id or "").split("/")
    if len(parts) >= 3 and parts[0] == "journey" and parts[2].isdigit():
        return int(parts[2])
    return None


class ContactPayloadCodec(PayloadCodec, WithSerializationContext):
    """`shredded_placeholder`: decode an erased contact's payload to that JSON string instead of
    raising KeyShredded (the codec server, so the UI shows what happened)."""

    def __init__(self, keys: KeyRing, contact_id: int | None = None, shredded_placeholder: str | None = None) -> None:
        self.keys = keys
        self.contact_id = contact_id
        self.shredded_placeholder = shredded_placeholder

    def with_context(self, context: SerializationContext) -> "ContactPayloadCodec":
        workflow_id = getattr(context, "workflow_id", None) if isinstance(
            context, (WorkflowSerializationContext, ActivitySerializationContext)) else None
        return ContactPayloadCodec(self.keys, contact_of_workflow(workflow_id), self.shredded_placeholder)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid, key = await self.keys.for_encrypt_async(self.contact_id)
        out = []
        for payload in payloads:
            nonce = os.urandom(12)
            sealed = key.encrypt(nonce, payload.SerializeToString(), kid.encode())
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode(), CIPHER: AES_GCM}, data=nonce + sealed))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)  # written before the codec was on
                continue
            kid = payload.metadata[KEY_ID].decode()
            try:
                key = await self.keys.for_decrypt_async(kid)
            except KeyShredded:
                if self.shredded_placeholder is None:
                    raise
                out.append(Payload(metadata={"encoding": b"json/plain"}, data=f'"{self.shredded_placeholder}"'.encode()))
                continue
            plain = Payload()
            plain.ParseFromString(key.decrypt(payload.data[:12], payload.data[12:], kid.encode()))
            out.append(plain)
        return out


def data_converter(keys: KeyRing) -> DataConverter:
    """The default converter with the codec, failures (messages, stack traces) encoded too."""
    return dataclasses.replace(
        DataConverter.default,
        payload_codec=ContactPayloadCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter_from_env(store: Any = None) -> DataConverter:
    """For worker.connect(): keys from NURTURE_CODEC_KEY, wrapped keys in the store (NURTURE_DB_URL)."""
    if store is None:
        from store import Store

        store = Store.open(os.environ.get("NURTURE_DB_URL"))
    return data_converter(KeyRing.from_env(store))
