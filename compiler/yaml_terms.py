"""The compiled journey (IR) rendered back in the journey file's terms: `duration: 3d`, not
`duration_s: 259200`; `window: {days: [mon, tue], from: "09:00"}`, not minutes and weekday numbers;
`next` only where it is not the default, `end` where it ends the run.

`plan` diffs deployed versions, of which only the IR is stored (a version deployed before this
module existed has no source text), so rendering the IR is the one way that works for every
version and every field without changing the IR or its hash. What comes back is what the
file means, in its own words: `72h` and `3d` both come back as `3d` (they are the same journey).
"""

from __future__ import annotations

import json
import re
from typing import Any

from compiler import ir

END = "end"
DAY = 24 * 60


def format_duration(seconds: int) -> str:
    """As journey files write durations: days at most (`30d`, not `4w2d`), `-1d`, `1d12h`."""
    sign, rest = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + ("".join(parts) or "0s")


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _target(value: str | None) -> str:
    return END if value is None else value


def _window(w: ir.Window | None) -> dict[str, Any] | None:
    if w is None:
        return None
    out: dict[str, Any] = {}
    if tuple(w.days) != ir.Window().days:
        out["days"] = [ir.WEEKDAYS[d] for d in w.days]
    if (w.from_min, w.to_min) != (0, DAY):
        out["from"], out["to"] = clock(w.from_min), clock(w.to_min)
    return out


def _send(step: ir.SendEmail | ir.SendSms) -> dict[str, Any]:
    return {"template": step.template, "purpose": step.purpose,
            "on_failure": None if step.on_failure == "skip" else step.on_failure}


def _wait(step: ir.Wait) -> dict[str, Any]:
    until: Any = step.until
    if step.until_attribute is not None:
        until = {"attribute": step.until_attribute, "offset": format_duration(step.offset_s) if step.offset_s else None}
    window_only = step.duration_s == 0 and step.window is not None  # the compiler's "wait for the window"
    duration = None if step.duration_s is None or window_only else format_duration(step.duration_s)
    return {"duration": duration, "until": until, "window": _window(step.window)}


def _wait_for(step: ir.WaitFor) -> dict[str, Any]:
    here = step.next  # an event case or the timeout without `next` continues here
    return {
        "events": [{"event": e.event, "of": e.of, "next": None if e.next == here else _target(e.next)} for e in step.events],
        "timeout": format_duration(step.timeout_s) if step.timeout_s is not None else None,
        "on_timeout": None if step.on_timeout == here else _target(step.on_timeout),
    }


def _branch(step: ir.Branch) -> dict[str, Any]:
    return {"cases": [{"when": c.when, "next": _target(c.next)} for c in step.cases], "default": _target(step.default)}


def _split(step: ir.Split) -> dict[str, Any]:
    return {"variants": [{"name": v.name, "percent": v.percent, "next": _target(v.next)} for v in step.variants],
            "holdout": step.holdout or None}


def _set(step: ir.SetProfile) -> dict[str, Any]:
    score = {"add": step.score_add} if step.score_add is not None else {"set": step.score_set} if step.score_set is not None else None
    tags = {"add": list(step.tags_add) or None, "remove": list(step.tags_remove) or None}
    return {"stage": step.stage, "score": score, "tags": tags if any(tags.values()) else None,
            "attributes": dict(step.attributes) or None}


def _webhook(step: ir.Webhook) -> dict[str, Any]:
    return {"url": step.url, "method": None if step.method == "POST" else step.method, "body": step.body,
            "purpose": step.purpose}


_FIELDS = {
    "send_email": _send,
    "send_sms": _send,
    "wait": _wait,
    "wait_for": _wait_for,
    "branch": _branch,
    "split": _split,
    "set": _set,
    "notify": lambda s: {"to": s.to, "template": s.template},
    "webhook": _webhook,
    "exit": lambda s: {"reason": None if s.reason == "exit" else s.reason},
}
# steps whose `next` defaults to the following step (a branch has `default`, a split's held-out
# runs and an exit end)
_FLOWS_ON = {"send_email", "send_sms", "wait", "wait_for", "set", "notify", "webhook"}


def step_yaml(step: ir.Step, following: str | None) -> dict[str, Any]:
    """The step as its file says it (without `id` and `type`); `following` is the id of the
    step after it in the list (None for the last), which an absent `next` means."""
    out = _FIELDS[step.type](step)
    if step.type in _FLOWS_ON:
        out["next"] = None if step.next == following else _target(step.next)
    elif step.type == "split":
        out["next"] = step.next
    return _prune(out)


def settings_yaml(journey: ir.Journey) -> dict[str, Any]:
    """The journey's own keys (title, entry, goal, policy, objectives, from, reply_to) as written."""
    e, p = journey.entry, journey.policy
    entry: dict[str, Any] = {e.kind: True if e.kind == "manual" else getattr(e, e.kind), "key": e.key}
    entry["reentry"] = {"after": format_duration(e.reentry_after_s or 0)} if e.reentry == "after" else (
        None if e.reentry == "never" else e.reentry)
    policy = {
        "consent": dict(p.consent) or None,
        "on_no_consent": None if p.on_no_consent == "skip" else p.on_no_consent,
        "quiet_hours": {"from": clock(p.quiet_hours.from_min), "to": clock(p.quiet_hours.to_min)} if p.quiet_hours else None,
        "timezone": None if p.timezone == "UTC" else p.timezone,
        "frequency_cap": {c.channel: {"max": c.max, "per": format_duration(c.per_s)} for c in p.frequency_caps} or None,
    }
    return _prune({
        "title": journey.title or None,
        "description": journey.description or None,
        "entry": entry,
        "goal": journey.goal,
        "policy": policy,
        "objectives": dict(journey.objectives) or None,
        "from": journey.sender,
        "reply_to": journey.reply_to,
    })


def _prune(value: Any) -> Any:
    """Drop what the file would not say (None, empty mappings)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {}}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def changes(old: Any, new: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """(key path, old, new) for what differs, in the file's order. Two mappings that share a key
    are compared key by key (`policy.quiet_hours.from`), two lists of mappings of one length item by
    item (`cases[1].when`); anything else is one change of the whole value (`score: {add: 20} ->
    {set: 0}`, `days: [mon] -> [mon, tue]`). A side that lacks the key has ABSENT."""
    if isinstance(old, dict) and isinstance(new, dict) and (set(old) & set(new) or not where):
        out: list[tuple[str, Any, Any]] = []
        for key in list(new) + [k for k in old if k not in new]:  # the new file's order, then what went
            path = f"{where}.{key}" if where else str(key)
            out += changes(old.get(key, ABSENT), new.get(key, ABSENT), path)
        return out
    if _mappings(old) and _mappings(new) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in changes(a, b, f"{where}[{i}]")]
    return [] if old == new else [(where, old, new)]


def _mappings(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


class _Absent:
    def __repr__(self) -> str:
        return "(not set)"


ABSENT: Any = _Absent()  # a key the file does not have


_PLAIN = re.compile(r"^[A-Za-z0-9_/@+-][A-Za-z0-9_./@+ -]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null"}  # quoted: YAML reads them otherwise


def render(value: Any) -> str:
    """A value as it is written in a journey file (flow style); ABSENT as `(not set)`."""
    if value is ABSENT:
        return repr(ABSENT)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value.lower() not in _YAML_WORDS and not value.endswith(" ")
        if plain and not re.fullmatch(r"[-+]?\d[\d_.]*", value):
            return value
        return "'" + value.replace("'", "''") + "'" if '"' in value else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render(v)}" for k, v in value.items()) + "}"
    return str(value)
