"""Register Nurture's custom search attributes on the namespace (skipping ones that exist).
An unregistered attribute does not fail a run: it stalls every workflow task, so apply
registers them before anything starts."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


class SearchAttributeConflict(Exception):
    """An attribute exists on the server with another type."""


async def ensure_search_attributes(client: Any, wanted: dict[str, str] | None = None) -> list[str]:
    """Add the missing ones; return their names (empty when all were there)."""
    if wanted is None:
        from engine.enrol import SEARCH_ATTRIBUTES

        wanted = SEARCH_ATTRIBUTES
    ns = client.namespace
    existing = (await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=ns))).custom_attributes
    missing: dict[str, Any] = {}
    for name, kind in wanted.items():
        if name not in existing:
            missing[name] = TYPES[kind]
        elif existing[name] != TYPES[kind]:
            have = IndexedValueType.Name(existing[name]).removeprefix("INDEXED_VALUE_TYPE_").title()
            raise SearchAttributeConflict(f"search attribute {name} exists as {have}, Nurture needs {kind}")
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=ns))
    return sorted(missing)
