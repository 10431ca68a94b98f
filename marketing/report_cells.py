"""How a report figure is written, in the text table and on the HTML page alike."""

from __future__ import annotations

from typing import Any

STEP_COLUMNS = ("entered", "sent", "skipped", "delivered", "opened", "clicked", "clicked_bot", "bounced",
                "unsubscribed", "open_rate", "click_rate", "click_to_open")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def cell(key: str, value: Any) -> str:
    return pct(value) if key.endswith(("_rate", "_to_open")) else ("-" if value is None else str(value))
