"""Schema-valid journey data -> IR objects (compiler.ir). No checks here beyond what the
schema guarantees: every default is resolved so that `None` always means "end the run"."""

from __future__ import annotations

from typing import Any, Callable

from compiler import ir
from compiler.durations import parse_clock, parse_duration, weekday

END = "end"


def target(value: Any, default: str | None) -> str | None:
    """A `next`-like field: absent -> `default`; `end` -> None."""
    if value is None:
        return default
    return None if value == END else value


def _send(cls: type[ir.Step]) -> Callable[[dict[str, Any], str | None], ir.Step]:
    def build(d: dict[str, Any], nxt: str | None) -> ir.Step:
        return cls(
            id=d["id"],
            next=target(d.get("next"), nxt),
            template=d["template"],
            purpose=d.get("purpose"),
            on_failure=d.get("on_failure", "skip"),
        )

    return build


def window(d: dict[str, Any] | None) -> ir.Window | None:
    if d is None:
        return None
    days = tuple(sorted(weekday(x) for x in d["days"])) if "days" in d else ir.Window().days
    if "from" in d:
        return ir.Window(days=days, from_min=parse_clock(d["from"]), to_min=parse_clock(d["to"]))
    return ir.Window(days=days)


def _wait(d: dict[str, Any], nxt: str | None) -> ir.Step:
    until = d.get("until")
    attr = until if isinstance(until, dict) else {}
    duration = d.get("duration")
    return ir.Wait(
        id=d["id"],
        next=target(d.get("next"), nxt),
        # a window alone waits for the window: a zero duration aligned to it
        duration_s=parse_duration(duration) if duration else (0 if until is None else None),
        until=until if isinstance(until, str) else None,
        until_attribute=attr.get("attribute"),
        offset_s=parse_duration(attr["offset"]) if "offset" in attr else 0,
        window=window(d.get("window")),
    )


def _wait_for(d: dict[str, Any], nxt: str | None) -> ir.Step:
    here = target(d.get("next"), nxt)
    return ir.WaitFor(
        id=d["id"],
        next=here,
        events=tuple(ir.EventCase(event=e["event"], of=e.get("of"), next=target(e.get("next"), here)) for e in d["events"]),
        timeout_s=parse_duration(d["timeout"]),
        on_timeout=target(d.get("on_timeout"), here),
    )


def _branch(d: dict[str, Any], nxt: str | None) -> ir.Step:
    return ir.Branch(
        id=d["id"],
        next=None,
        cases=tuple(ir.Case(when=c["when"], next=target(c["next"], None)) for c in d["cases"]),
        default=target(d["default"], None),
    )


def _split(d: dict[str, Any], nxt: str | None) -> ir.Step:
    return ir.Split(
        id=d["id"],
        next=target(d.get("next"), None),  # held-out runs end unless told otherwise
        variants=tuple(ir.Variant(name=v["name"], percent=v["percent"], next=target(v["next"], None)) for v in d["variants"]),
        holdout=d.get("holdout", 0),
    )


def _set(d: dict[str, Any], nxt: str | None) -> ir.Step:
    score = d.get("score") or {}
    tags = d.get("tags") or {}
    return ir.SetProfile(
        id=d["id"],
        next=target(d.get("next"), nxt),
        stage=d.get("stage"),
        score_add=score.get("add"),
        score_set=score.get("set"),
        tags_add=tuple(tags.get("add", ())),
        tags_remove=tuple(tags.get("remove", ())),
        attributes=tuple((d.get("attributes") or {}).items()),
    )


def _notify(d: dict[str, Any], nxt: str | None) -> ir.Step:
    return ir.Notify(id=d["id"], next=target(d.get("next"), nxt), to=d["to"], template=d["template"])


def _webhook(d: dict[str, Any], nxt: str | None) -> ir.Step:
    return ir.Webhook(
        id=d["id"],
        next=target(d.get("next"), nxt),
        url=d["url"],
        method=d.get("method", "POST"),
        body=d.get("body"),
        purpose=d.get("purpose"),
    )


def _exit(d: dict[str, Any], nxt: str | None) -> ir.Step:
    return ir.Exit(id=d["id"], next=None, reason=d.get("reason", "exit"))


STEP_BUILDERS: dict[str, Callable[[dict[str, Any], str | None], ir.Step]] = {
    "send_email": _send(ir.SendEmail),
    "send_sms": _send(ir.SendSms),
    "wait": _wait,
    "wait_for": _wait_for,
    "branch": _branch,
    "split": _split,
    "set": _set,
    "notify": _notify,
    "webhook": _webhook,
    "exit": _exit,
}


def build_step(data: dict[str, Any], default_next: str | None) -> ir.Step:
    return STEP_BUILDERS[data["type"]](data, default_next)


def build_entry(d: dict[str, Any]) -> ir.Entry:
    kind = next(k for k in ("event", "segment", "manual") if k in d)
    reentry = d.get("reentry", "never")
    return ir.Entry(
        kind=kind,
        event=d.get("event"),
        key=d.get("key"),
        segment=d.get("segment"),
        reentry="after" if isinstance(reentry, dict) else reentry,
        reentry_after_s=parse_duration(reentry["after"]) if isinstance(reentry, dict) else None,
    )


def build_policy(d: dict[str, Any]) -> ir.Policy:
    quiet = d.get("quiet_hours")
    return ir.Policy(
        consent=tuple((d.get("consent") or {}).items()),
        on_no_consent=d.get("on_no_consent", "skip"),
        quiet_hours=ir.QuietHours(from_min=parse_clock(quiet["from"]), to_min=parse_clock(quiet["to"])) if quiet else None,
        timezone=d.get("timezone", "UTC"),
        frequency_caps=tuple(
            ir.FrequencyCap(channel=ch, max=cap["max"], per_s=parse_duration(cap["per"]))
            for ch, cap in (d.get("frequency_cap") or {}).items()
        ),
    )
