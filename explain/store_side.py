"""The store's part of an explanation: enrolments, sends (ledger, consent decision and its basis),
step decisions (postponed, skipped), events (opens and clicks, human or bot), score and stage
changes, consent changes, suppression, run outcomes. One read per table, ids and codes as stored."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from compiler.ir import Journey
from deploy.visibility import when
from explain.model import Item, RunView
from store import schema
from store.records import ConsentDecision, ConsentEvent, Contact, Event

SEND_EVENTS = ("email.sent", "sms.sent")
MESSAGE_CHANNELS = ("email", "sms")
OUTCOME_EVENTS = {"journey.completed": "completed", "journey.exited": "exited", "journey.goal": "goal met",
                  "journey.split": "split"}
WORDS = {"quiet_hours": "quiet hours", "send_window": "send window", "frequency_cap": "frequency cap",
         "no_address": "no address", "no_send_window": "no send window (quiet hours cover it)",
         "no_contact": "contact gone"}


def word(code: str) -> str:
    """A reason code in words: `quiet_hours` -> `quiet hours`."""
    return WORDS.get(code, code.replace("_", " "))


def split_key(key: str) -> tuple[str, str, str, int] | None:
    """A ledger key `workflow id/run id/step/visit` -> its parts (the workflow id has slashes)."""
    parts = key.rsplit("/", 3)
    if len(parts) != 4 or not parts[3].isdigit():
        return None
    return parts[0], parts[1], parts[2], int(parts[3])


class Versions:
    """Deployed versions read once each: (journey, version) -> Journey."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._cache: dict[tuple[str, str], Journey | None] = {}
        self._lists: dict[str, list[Any]] = {}

    def get(self, journey_id: str, version: str | None) -> Journey | None:
        if not version:
            return None
        key = (journey_id, version)
        if key not in self._cache:
            ir = self.store.get_journey_version(journey_id, version)
            self._cache[key] = Journey.from_dict(ir) if ir else None
        return self._cache[key]

    def deployed_at(self, journey_id: str, when: datetime) -> str | None:
        """The version deployed last at or before `when` (what `enrol` would have started)."""
        if journey_id not in self._lists:
            self._lists[journey_id] = self.store.list_journey_versions(journey_id)
        versions = [v for v in self._lists[journey_id] if v.deployed_at <= when] or self._lists[journey_id][:1]
        return versions[-1].version if versions else None


def _trigger(journey: Journey | None, started_at: datetime, events: list[Event]) -> tuple[str, dict[str, Any]]:
    """What enrolled the run: the entry event seen last before the start, the segment sweep, or a person."""
    if journey is None:
        return "", {}
    entry = journey.entry
    if entry.kind == "event" and entry.event:
        seen = [e for e in events if e.type == entry.event and e.at <= started_at]
        if seen:
            return f"by event {entry.event} (event {seen[-1].id})", {"event": entry.event, "event_id": seen[-1].id}
        return (f"by hand (cli.py enroll, a rule or the API): no {entry.event} event before it",
                {"manual": True, "event": entry.event})
    if entry.kind == "segment":
        return f"by the segment sweep of {entry.segment}", {"segment": entry.segment}
    return "by hand (cli.py enroll, a rule or the API)", {"manual": True}


def _consent_basis(decision: ConsentDecision, consent: dict[int, ConsentEvent]) -> dict[str, Any]:
    basis: dict[str, Any] = {"channel": decision.channel, "purpose": decision.purpose,
                             "granted": decision.granted, "basis": decision.basis}
    event = consent.get(decision.consent_event_id or -1)
    if event is not None:
        basis.update(status=event.status, source=event.source, since=event.at.isoformat(), consent_event_id=event.id)
    return basis


def _basis_text(basis: dict[str, Any]) -> str:
    text = basis["basis"]
    if "since" in basis and basis.get("status") == "withdrawn":
        text += f" since {when(basis['since'])} by {basis['source']}"
    elif "since" in basis:
        text += f" (recorded {when(basis['since'])})"
    return text


def _event_item(event: Event, links: dict[str, list[str]]) -> Item:
    data = dict(event.data)
    bot = bool(data.get("likely_bot"))
    if event.type in ("email.opened", "email.clicked"):
        who = "likely bot" if bot else "human"
        text = f"{event.type.split('.')[1]} ({who})"
        if event.type == "email.clicked":
            url = data.get("url")
            if url is None and isinstance(data.get("link"), int):
                url = (links.get(event.message_id or "") or [None] * (data["link"] + 1))[data["link"]]
            text += f" link {data.get('link')}: {url}" if url else ""
        kind = "engagement"
    else:
        shown = {k: v for k, v in data.items() if k not in ("likely_bot",)}
        text = event.type + (" " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) if shown else "")
        kind = "event"
    return Item(event.at, kind, text[:300], event.journey_id, event.step_id, message_id=event.message_id,
                data={"event_id": event.id, "type": event.type, "likely_bot": bot, **({"data": data} if data else {})})


def _links(store: Any, contact_id: int) -> dict[str, list[str]]:
    """Message-ID -> its links in order, in one query (a click event older than its `url` field)."""
    ml, m = schema.message_links.c, schema.messages.c
    rows = store.read_rows(select(ml.message_id, ml.url).join(schema.messages, m.message_id == ml.message_id)
                           .where(m.contact_id == contact_id).order_by(ml.message_id, ml.position))
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        out[r.message_id].append(r.url)
    return out


def _suppression_items(store: Any, contact: Contact) -> list[Item]:
    s = schema.suppression.c
    wanted = []
    if contact.email:
        wanted.append(("email", store.address_hash("email", contact.email)))
    if contact.phone:
        wanted.append(("sms", store.address_hash("sms", contact.phone)))
    if not wanted:
        return []
    rows = store.read_rows(select(s.channel, s.reason, s.source, s.at).where(
        or_(*[(s.channel == ch) & (s.address_hash == h) for ch, h in wanted])))
    return [Item(r.at, "suppressed", f"{r.channel} address suppressed ({r.reason}) by {r.source}",
                 data={"channel": r.channel, "reason": r.reason, "source": r.source}) for r in rows]


def store_side(store: Any, contact: Contact, versions: Versions) -> tuple[list[Item], list[RunView], list[Event]]:
    """Items from the store, the contact's runs (from enrolments), and its events (for not_in)."""
    cid = contact.id
    en, lg = schema.enrolments.c, schema.send_ledger.c
    enrolments = store.read_rows(select(schema.enrolments).where(en.contact_id == cid).order_by(en.started_at, en.id))
    ledger = store.read_rows(select(schema.send_ledger).where(lg.contact_id == cid).order_by(lg.created_at, lg.id))
    events = store.events_for(cid)
    consent = {c.id: c for c in store.consent_history(cid)}
    decisions = store.consent_decisions(cid)
    links = _links(store, cid)
    items: list[Item] = []

    # outcomes first: they name the exact version of a finished run
    run_version: dict[str, str] = {}
    for event in events:
        if event.type in OUTCOME_EVENTS and event.data.get("workflow_id"):
            run_version.setdefault(str(event.data["workflow_id"]), str(event.data.get("version") or ""))

    runs = []
    for r in enrolments:
        version = versions.deployed_at(r.journey_id, r.started_at)
        run = RunView(r.journey_id, r.workflow_id, r.run_id or "", r.started_at, version=version,
                      status="finished" if r.finished_at else "unknown", outcome=r.outcome)
        text, data = _trigger(versions.get(r.journey_id, version), r.started_at, events)
        run.trigger = text
        runs.append(run)
        items.append(Item(r.started_at, "entered", f"entered {r.journey_id} (version {version}) {text}".rstrip(),
                          r.journey_id, workflow_id=r.workflow_id,
                          data={"version": version, "run_id": r.run_id, "trigger": data}))

    by_step: dict[tuple[str | None, str | None, str | None], list[ConsentDecision]] = defaultdict(list)
    for d in decisions:
        by_step[(d.workflow_id, d.run_id, d.step_id)].append(d)
        if not d.granted:
            basis = _consent_basis(d, consent)
            items.append(Item(d.at, "skipped", f"skipped ({d.channel}): {_basis_text(basis)}",
                              _journey_of(d.workflow_id), d.step_id, d.workflow_id, data={"consent": basis}))
        elif d.channel == "profiling":
            items.append(Item(d.at, "consent", f"profile read under {d.purpose}: {d.basis}",
                              _journey_of(d.workflow_id), d.step_id, d.workflow_id,
                              data={"consent": _consent_basis(d, consent)}))

    sent_events = {e.message_id: e for e in events if e.type in SEND_EVENTS and e.message_id}
    for r in ledger:
        if r.channel not in MESSAGE_CHANNELS:
            continue  # a `set` step's exactly-once entry: its score and stage changes are shown
        parts = split_key(r.key)
        wf, run_id, step_id, visit = parts if parts else (None, None, r.step_id, 0)
        granted = [d for d in by_step.get((wf, run_id, step_id), []) if d.granted]
        consent_basis = _consent_basis(granted[-1], consent) if granted else None
        version = run_version.get(wf or "") or next((x.version for x in runs if x.workflow_id == wf), None)
        step = step_of(versions.get(r.journey_id, version), step_id)
        template = getattr(step, "template", None)
        data: dict[str, Any] = {"channel": r.channel, "status": r.status, "visit": visit, "template": template,
                                "key": r.key}
        if consent_basis:
            data["consent"] = consent_basis
        if r.status in ("sent", "uncertain", "transmitting"):
            at = r.sent_at or (sent_events[r.message_id].at if r.message_id in sent_events else r.updated_at)
            text = f"sent {r.channel} {template or step_id} (Message-ID {r.message_id})"
            if r.status != "sent":
                text += f" [{r.status}: delivery not confirmed]"
            if consent_basis:
                text += f"; consent: {_basis_text(consent_basis)}"
            items.append(Item(at, "sent", text, r.journey_id, step_id, wf, r.message_id, data=data))
        elif r.status == "failed":
            items.append(Item(r.updated_at, "failed", f"{r.channel} {template or step_id} failed: {r.detail or ''}".rstrip(),
                              r.journey_id, step_id, wf, r.message_id, data=data))

    for sd in store.step_decisions_for(cid):
        until = f" until {when(sd.until.isoformat())}" if sd.until else ""
        items.append(Item(sd.at, sd.decision, f"{sd.decision}: {word(sd.reason)}{until}", _journey_of(sd.workflow_id),
                          sd.step_id, sd.workflow_id,
                          data={"reason": sd.reason, "until": sd.until.isoformat() if sd.until else None,
                                "visit": sd.visit}))

    origin = {i.message_id: i for i in items if i.kind in ("sent", "failed") and i.message_id}
    for event in events:
        if event.type in SEND_EVENTS:
            continue
        if event.type in OUTCOME_EVENTS:
            items.append(_outcome_item(event))
            continue
        item = _event_item(event, links)
        sent = origin.get(event.message_id or "")
        if sent is not None and item.journey is None:  # an open or click: the message's journey and step
            item.journey, item.step, item.workflow_id = sent.journey, sent.step, sent.workflow_id
        items.append(item)
    for change in store.score_history(cid):
        level = "" if change.level == "global" else f" ({change.level})"
        items.append(Item(change.at, "score", f"score {change.delta:+d}{level} = {change.value}: {change.reason}",
                          data={"level": change.level, "delta": change.delta, "value": change.value,
                                "reason": change.reason}))
    for change in store.stage_history(cid):
        items.append(Item(change.at, "stage", f"stage {change.from_stage or '-'} -> {change.to_stage or '-'}: {change.reason}",
                          data={"from": change.from_stage, "to": change.to_stage, "reason": change.reason}))
    for c in consent.values():
        items.append(Item(c.at, "consent", f"consent {c.channel}/{c.purpose} {c.status} via {c.source}",
                          data={"channel": c.channel, "purpose": c.purpose, "status": c.status, "source": c.source,
                                "wording_version": c.wording_version, "consent_event_id": c.id}))
    items.extend(_suppression_items(store, contact))
    return items, runs, events


def _outcome_item(event: Event) -> Item:
    what = OUTCOME_EVENTS[event.type]
    data = dict(event.data)
    if what == "split":
        text = f"split: variant {data.get('variant')}"
        kind = "branch"
    else:
        reason = data.get("reason")
        text = f"{what} at step {event.step_id}" + (f" ({reason})" if reason and reason != "end" else "")
        kind = "outcome"
    return Item(event.at, kind, text, event.journey_id, event.step_id, data.get("workflow_id"),
                data={"outcome": what, **data})


def _journey_of(workflow_id: str | None) -> str | None:
    """`journey/<journey>/<contact>[/key]` -> the journey id."""
    if workflow_id and workflow_id.startswith("journey/"):
        return workflow_id.split("/")[1]
    return None


def step_of(journey: Journey | None, step_id: str | None) -> Any:
    """The step of a version, or None when the version or the step is unknown."""
    if journey is None or step_id is None:
        return None
    try:
        return journey.step(step_id)
    except KeyError:
        return None
