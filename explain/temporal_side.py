"""Temporal's part of an explanation (filled in by part 3)."""

from __future__ import annotations

from typing import Any


async def temporal_side(client: Any, ex: Any, versions: Any) -> None:
    return None
