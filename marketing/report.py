"""The journey report: what happened per journey and per send step, from the store.

Counts (per step, distinct messages): sent (email.sent/sms.sent, plus messages that bounced at
send time), skipped by reason (consent decisions refused: no_consent, suppressed, unconfirmed),
delivered (sent - bounced), opened (an open, or a human click, which implies one), clicked,
each for humans and apart for likely bots, bounced, unsubscribed. Per journey: entered
(enrolments), converted (journey.goal), exits by reason (and per exit step), split variants vs
holdout, email bounce and complaint rates per journey and step (marketing/deliverability.py,
key `deliverability`), and the journey file's objectives: met, not met, no data yet (a rate over nothing,
e.g. an open rate before any delivery), or no goal (a conversion rate without a goal). Rates: open = opened/delivered, click = clicked/delivered
(the same for bots), click-to-open = clicked/opened, conversion = converted/entered.

Public API: journey_report(store, journey, *, since=None) -> dict  (JSON-ready)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from compiler import ir
from marketing.deliverability import deliverability
from store import schema

ev, ms, en, cd = schema.events.c, schema.messages.c, schema.enrolments.c, schema.consent_decisions.c
SENT_TYPES = ("email.sent", "sms.sent")
OUTCOME_TYPES = ("journey.split", "journey.goal", "journey.exited", "journey.completed")
ENGAGEMENT_TYPES = ("email.opened", "email.clicked", "email.unsubscribed", "email.bounced")


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def skip_reason(basis: str) -> str:
    """The reason code of a refused consent decision, from its recorded basis."""
    if basis.startswith("address suppressed"):
        return "suppressed"
    if "not confirmed" in basis:
        return "unconfirmed"
    return "no_consent"


def _since(query: Any, column: Any, since: datetime | None) -> Any:
    return query if since is None else query.where(column >= since)


def _step_counts(sent: set[str], bounced: set[str], engaged: dict[str, dict[str, set[str]]]) -> dict[str, Any]:
    opened = (engaged["email.opened"].get("human", set()) | engaged["email.clicked"].get("human", set())) & sent
    clicked = engaged["email.clicked"].get("human", set()) & sent
    bot_clicked = engaged["email.clicked"].get("bot", set()) - clicked
    bot_opened = (engaged["email.opened"].get("bot", set()) - opened) & sent
    delivered = len(sent - bounced)
    unsubscribed = engaged["email.unsubscribed"].get("human", set()) | engaged["email.unsubscribed"].get("bot", set())
    return {
        "sent": len(sent), "delivered": delivered, "bounced": len(bounced & sent),
        "opened": len(opened), "opened_bot": len(bot_opened), "clicked": len(clicked),
        "clicked_bot": len(bot_clicked & sent), "unsubscribed": len(unsubscribed & sent),
        "open_rate": rate(len(opened), delivered), "click_rate": rate(len(clicked), delivered),
        "click_to_open": rate(len(clicked), len(opened)),
        "open_rate_bot": rate(len(bot_opened), delivered), "click_rate_bot": rate(len(bot_clicked & sent), delivered),
    }


class _Data:
    """The rows one journey's report is made of, read in a few queries."""

    def __init__(self, store: Any, journey_id: str, since: datetime | None) -> None:
        q = _since(select(en.workflow_id, en.contact_id).where(en.journey_id == journey_id), en.started_at, since)
        self.enrolments = [(r.workflow_id, r.contact_id) for r in store.read_rows(q)]
        q = _since(select(ev.type, ev.step_id, ev.message_id, ev.contact_id, ev.data)
                   .where(ev.journey_id == journey_id, ev.type.in_(SENT_TYPES + OUTCOME_TYPES + ("email.bounced",))),
                   ev.at, since)
        self.own = list(store.read_rows(q))
        q = _since(select(ev.type, ms.step_id, ev.message_id, ms.contact_id, ev.data)
                   .join(schema.messages, ms.message_id == ev.message_id)
                   .where(ms.journey_id == journey_id, ev.type.in_(ENGAGEMENT_TYPES)), ev.at, since)
        self.engagement = list(store.read_rows(q))
        workflows = {w for w, _ in self.enrolments}
        q = _since(select(cd.workflow_id, cd.step_id, cd.basis).where(cd.granted.is_(False)), cd.at, since)
        self.refusals = [r for r in store.read_rows(q) if r.workflow_id in workflows]


def _per_step(data: _Data, contacts: set[int] | None = None) -> dict[str, dict[str, Any]]:
    """Message counts by step (optionally only for these contacts)."""
    keep = (lambda cid: True) if contacts is None else (lambda cid: cid in contacts)
    sent: dict[str, set[str]] = defaultdict(set)
    bounced: dict[str, set[str]] = defaultdict(set)
    engaged: dict[str, dict[str, dict[str, set[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(set)))
    for r in data.own:
        if keep(r.contact_id) and r.type in SENT_TYPES + ("email.bounced",):
            sent[r.step_id].add(r.message_id)
            if r.type == "email.bounced":
                bounced[r.step_id].add(r.message_id)
    for r in data.engagement:
        if keep(r.contact_id):
            who = "bot" if (r.data or {}).get("likely_bot") else "human"
            engaged[r.step_id][r.type][who].add(r.message_id)
            if r.type == "email.bounced":
                bounced[r.step_id].add(r.message_id)
    return {step: _step_counts(sent[step], bounced[step], engaged[step]) for step in set(sent) | set(engaged)}


def _totals(steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = ("sent", "delivered", "bounced", "opened", "opened_bot", "clicked", "clicked_bot", "unsubscribed")
    total = {k: sum(s[k] for s in steps.values()) for k in keys}
    total.update(open_rate=rate(total["opened"], total["delivered"]), click_rate=rate(total["clicked"], total["delivered"]),
                 click_to_open=rate(total["clicked"], total["opened"]),
                 open_rate_bot=rate(total["opened_bot"], total["delivered"]),
                 click_rate_bot=rate(total["clicked_bot"], total["delivered"]))
    return total


def _variants(data: _Data) -> list[dict[str, Any]]:
    by_workflow = {r.data.get("workflow_id"): r.data.get("variant") for r in data.own if r.type == "journey.split"}
    goals = {r.data.get("workflow_id") for r in data.own if r.type == "journey.goal"}
    contacts = dict(data.enrolments)
    out = []
    for variant in sorted(set(by_workflow.values()), key=lambda v: (v == "holdout", v)):
        workflows = {w for w, v in by_workflow.items() if v == variant}
        members = {contacts[w] for w in workflows if w in contacts}
        converted = len(workflows & goals)
        email = _totals(_per_step(data, members))
        out.append({"variant": variant, "entered": len(workflows), "converted": converted,
                    "conversion_rate": rate(converted, len(workflows)),
                    **{k: email[k] for k in ("sent", "opened", "clicked", "open_rate", "click_rate")}})
    return out


def objective(name: str, target: float, totals: dict[str, Any], has_goal: bool = True) -> dict[str, Any]:
    """An objective against the totals; a rate over nothing (no delivery, no entry) is no data yet,
    neither met nor missed; so is a conversion rate where the journey has no goal to convert to."""
    if name == "conversion_rate" and not has_goal:
        return {"name": name, "target": target, "actual": None, "met": None, "status": "no goal"}
    actual = totals.get(name)
    met = None if actual is None else actual >= target
    status = "no data yet" if met is None else ("met" if met else "not met")
    return {"name": name, "target": target, "actual": actual, "met": met, "status": status}


def journey_report(store: Any, journey: ir.Journey, *, since: datetime | None = None) -> dict[str, Any]:
    """Everything the report shows for one journey, JSON-ready."""
    data = _Data(store, journey.id, since)
    counted = _per_step(data)
    skipped: dict[str, Counter[str]] = defaultdict(Counter)
    for r in data.refusals:
        skipped[r.step_id][skip_reason(r.basis)] += 1
    steps = []
    for step in journey.steps:
        row: dict[str, Any] = {"id": step.id, "type": step.type}
        if isinstance(step, (ir.SendEmail, ir.SendSms)):
            row.update(counted.get(step.id) or _step_counts(set(), set(), defaultdict(dict)))
            row["skipped"] = sum(skipped[step.id].values())
            row["skipped_reasons"] = dict(sorted(skipped[step.id].items()))
            row["entered"] = row["sent"] + row["skipped"]
        if isinstance(step, ir.Exit):
            row["exited"] = sum(1 for r in data.own if r.type == "journey.exited" and r.step_id == step.id)
        steps.append(row)
    entered = len(data.enrolments)
    converted = sum(1 for r in data.own if r.type == "journey.goal")
    exits = Counter(str(r.data.get("reason", "")) for r in data.own if r.type == "journey.exited")
    totals = _totals({s["id"]: s for s in steps if "sent" in s})
    totals.update(entered=entered, converted=converted, conversion_rate=rate(converted, entered),
                  completed=sum(1 for r in data.own if r.type == "journey.completed"))
    objectives = [objective(name, target, totals, journey.goal is not None) for name, target in journey.objectives]
    return {"journey": journey.id, "title": journey.title or journey.id, "version": journey.version, "goal": journey.goal,
            "since": since.isoformat() if since else None, "totals": totals, "exits": dict(sorted(exits.items())),
            "steps": steps, "variants": _variants(data), "objectives": objectives,
            "deliverability": deliverability(store, journey.id, since=since)}
