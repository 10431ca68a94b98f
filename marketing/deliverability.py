"""Bounce and complaint rates per journey and step, for `cli.py report`: the numbers mailbox
providers judge a sender by (Gmail's and Yahoo's bulk-sender rules: complaints under 0.3%).

Per send step and for the journey: sent (distinct email messages: email.sent, plus those that
bounced at send time), bounced (distinct messages with an email.bounced event: at send time, a
DSN, an ESP), of them hard, complained (distinct messages with email.complained); bounce rate =
bounced / sent, complaint rate = complained / sent. The journey's complaint rate sets its level:
`warning` above 0.1%, `alert` at 0.3% or more (`ok` below, `no data` before any send).

Public API: deliverability(store, journey_id, *, since=None) -> dict (JSON-ready);
            deliverability_lines(dict) -> list[str] (the table report's lines).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from store import schema

WARNING_RATE = 0.001  # above: warning
ALERT_RATE = 0.003  # at or above: alert
ev, ms = schema.events.c, schema.messages.c


def level(complaint_rate: float | None) -> str:
    if complaint_rate is None:
        return "no data"
    if complaint_rate >= ALERT_RATE:
        return "alert"
    return "warning" if complaint_rate > WARNING_RATE else "ok"


def _rates(sent: set[str], bounced: set[str], hard: set[str], complained: set[str]) -> dict[str, Any]:
    n = len(sent)
    out = {"sent": n, "bounced": len(bounced & sent), "hard_bounced": len(hard & sent),
           "complained": len(complained & sent),
           "bounce_rate": round(len(bounced & sent) / n, 6) if n else None,
           "complaint_rate": round(len(complained & sent) / n, 6) if n else None}
    out["level"] = level(out["complaint_rate"])
    return out


def deliverability(store: Any, journey_id: str, *, since: datetime | None = None) -> dict[str, Any]:
    """The journey's email bounce and complaint rates, per step and in total."""
    query = (select(ev.type, ms.step_id, ev.message_id, ev.data)
             .join(schema.messages, ms.message_id == ev.message_id)
             .where(ms.journey_id == journey_id, ms.channel == "email",
                    ev.type.in_(("email.sent", "email.bounced", "email.complained"))))
    if since is not None:
        query = query.where(ev.at >= since)
    steps: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in store.read_rows(query):
        step = steps[row.step_id]
        if row.type == "email.complained":
            step["complained"].add(row.message_id)
        elif row.type == "email.bounced":
            step["bounced"].add(row.message_id)
            step["sent"].add(row.message_id)  # a bounce at send time has no email.sent
            if (row.data or {}).get("hard"):
                step["hard"].add(row.message_id)
        else:
            step["sent"].add(row.message_id)
    per_step = {step_id: _rates(s["sent"], s["bounced"], s["hard"], s["complained"])
                for step_id, s in sorted(steps.items())}
    union = {k: set().union(*(s[k] for s in steps.values())) for k in ("sent", "bounced", "hard", "complained")}
    return {"journey": journey_id, **_rates(union["sent"], union["bounced"], union["hard"], union["complained"]),
            "steps": per_step}


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def deliverability_lines(d: dict[str, Any]) -> list[str]:
    """`deliverability: bounce 2.00% (2 of 100, 1 hard), complaints 0.20% (2): WARNING (over 0.1%)`, then per step."""
    if not d["sent"]:
        return []
    flag = {"warning": f": WARNING (complaints over {WARNING_RATE:.1%})",
            "alert": f": ALERT (complaints at or over {ALERT_RATE:.1%}: mailbox providers throttle or block)"}
    lines = [f"deliverability: bounces {_pct(d['bounce_rate'])} ({d['bounced']} of {d['sent']}, {d['hard_bounced']} hard), "
             f"complaints {_pct(d['complaint_rate'])} ({d['complained']})" + flag.get(d["level"], "")]
    for step_id, s in d["steps"].items():
        if s["sent"]:
            lines.append(f"  {step_id}: bounces {_pct(s['bounce_rate'])} ({s['bounced']}), "
                         f"complaints {_pct(s['complaint_rate'])} ({s['complained']})" + (
                             f" {s['level'].upper()}" if s["level"] in flag else ""))
    return lines
