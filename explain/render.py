"""An Explanation as text (a timeline in the contact's zone and UTC) or as the stable JSON
documented in docs/explain.md."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from explain.model import JSON_VERSION, Explanation, Item, RunView


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache(maxsize=4096)
def _offset(tz: ZoneInfo, quarter: int) -> tuple[timedelta, str]:
    """The zone's offset and abbreviation in a 15-minute slot (zones change offset on such edges)."""
    local = datetime.fromtimestamp(quarter * 900, timezone.utc).astimezone(tz)
    return local.utcoffset() or timedelta(0), local.tzname() or str(tz)


def local(at: datetime, tz: ZoneInfo) -> datetime:
    """`at` in the contact's zone as a fixed offset (ZoneInfo per item is slow for 1,000 items)."""
    offset, name = _offset(tz, int(at.timestamp()) // 900)
    return at.astimezone(timezone(offset, name))


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(timezone.utc).isoformat() if at else None


def both(at: datetime, tz: ZoneInfo) -> str:
    """`2026-12-08 09:00 CET (08:00 UTC)`; UTC alone when the contact's zone is UTC."""
    utc = at.astimezone(timezone.utc)
    if str(tz) == "UTC":
        return utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{local(at, tz).strftime('%Y-%m-%d %H:%M:%S %Z')} ({utc.strftime('%H:%M:%S UTC')})"


def _where(item: Item) -> str:
    if item.journey and item.step:
        return f"{item.journey}/{item.step}"
    return item.journey or "-"


def run_state(run: RunView, tz: ZoneInfo) -> str:
    """`running at step x (waiting: quiet hours until T)`, `finished: completed (end)`."""
    if run.status == "running":
        text = f"running at step {run.step}" if run.step else "running"
        if run.waiting:
            until = f" until {both(run.until, tz)}" if run.until else ""
            text += f" (waiting: {run.waiting}{until})"
        return text
    if run.status == "finished":
        return f"finished: {run.outcome or '?'}" + (f" ({run.reason})" if run.reason else "")
    return "state unknown (Temporal not read)" if run.outcome is None else f"finished: {run.outcome}"


def to_text(ex: Explanation) -> str:
    tz = zone(ex.timezone)
    lines = [f"contact {ex.contact_id} (time zone {ex.timezone}; times local, then UTC)"]
    if ex.message:
        m = ex.message
        lines.append(f"message {m['message_id']}: {m.get('channel')} {m.get('template')} "
                     f"from {m.get('journey')}/{m.get('step')}")
        if m.get("subject"):
            lines.append(f"  subject: {m['subject']}" + ("" if m.get("subject_exact") else " (rendered now from its version)"))
        lines.append(f"  delivery: {m.get('delivery')}")
        lines.append(f"  opens: {m['opens']['human']} human, {m['opens']['bot']} bot; "
                     f"clicks: {m['clicks']['human']} human, {m['clicks']['bot']} bot")
    lines.append("")
    for item in ex.sorted_items():
        lines.append(f"{both(item.at, tz)}  {_where(item):<28} {item.kind:<10} {item.text}")
    if ex.runs:
        lines += ["", "runs:"]
        for run in ex.runs:
            trigger = f", entered {run.trigger}" if run.trigger else ""
            lines.append(f"  {run.workflow_id} (version {run.version}{trigger}): {run_state(run, tz)}")
    if ex.not_in:
        lines += ["", "not in:"]
        for n in ex.not_in:
            lines.append(f"  {n.journey}: " + "; ".join(r["text"] for r in n.reasons))
    for note in ex.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def to_dict(ex: Explanation) -> dict[str, Any]:
    tz = zone(ex.timezone)
    return {
        "version": JSON_VERSION,
        "contact": {"id": ex.contact_id, "timezone": ex.timezone},
        "message": ex.message,
        "timeline": [{
            "at": _iso(i.at), "local": local(i.at, tz).isoformat(), "kind": i.kind, "journey": i.journey,
            "step": i.step, "workflow_id": i.workflow_id, "message_id": i.message_id, "source": i.source,
            "text": i.text, "data": i.data,
        } for i in ex.sorted_items()],
        "runs": [{
            "journey": r.journey, "workflow_id": r.workflow_id, "run_id": r.run_id, "version": r.version,
            "started_at": _iso(r.started_at), "trigger": r.trigger, "status": r.status, "step": r.step,
            "waiting": r.waiting or None, "until": _iso(r.until), "outcome": r.outcome, "reason": r.reason,
        } for r in ex.runs],
        "not_in": [{"journey": n.journey, "reasons": n.reasons} for n in ex.not_in],
        "notes": ex.notes,
        "timings": {k: round(v, 4) for k, v in ex.timings.items()},
    }


def to_json(ex: Explanation) -> str:
    return json.dumps(to_dict(ex), indent=2, default=str, ensure_ascii=False)
