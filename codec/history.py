"""Every Payload inside a Temporal message (a history, an event), wherever it sits:
inputs, results, signals, memo, headers, failures' encoded attributes and details."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload


def iter_payloads(message: Message) -> Iterator[Payload]:
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items: Any = value.values()
        elif getattr(field, "is_repeated", None) or getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED:
            items = value
        else:
            items = [value]
        for item in items:
            if isinstance(item, Message):
                yield from iter_payloads(item)
