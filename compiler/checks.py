"""The rules the schema cannot say: ids, targets, reachability, loops, conditions, events,
split percents, consent, time zones, objectives, templates and names defined by other files (segments,
stages, consent purposes, teams: compiler/references.py). Each check reads the schema-valid
parts of a journey (`Unit`) and reports at the offending node."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from compiler import conditions, ir, references
from compiler import templates as tpl
from compiler.build import END
from compiler.conditions import did_you_mean
from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc

BUILTIN_EVENTS = (
    "email.delivered",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.complained",
    "email.unsubscribed",
    "sms.delivered",
    "sms.replied",
)
CHANNEL_OF_STEP = {"send_email": "email", "send_sms": "sms", "webhook": "webhook"}
SEND_CHANNELS = tuple(CHANNEL_OF_STEP.values())
WAIT_TYPES = ("wait", "wait_for")


@dataclass
class Unit:
    """One journey being compiled: its source, its problems and its schema-valid steps."""

    path: Path
    doc: LoadedDoc
    problems: Problems
    steps: list[tuple[int, dict[str, Any], ir.Step]] = field(default_factory=list)  # (index, data, IR)
    raw: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # every step that is a mapping
    ids: dict[str, int] = field(default_factory=dict)  # every step id -> index of its first use
    email_templates: dict[str, ir.EmailTemplate] = field(default_factory=dict)
    sms_templates: dict[str, ir.SmsTemplate] = field(default_factory=dict)
    template_parts: dict[str, str] = field(default_factory=dict)  # "_layout.html" -> source
    template_uses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "name.es" -> its parts

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data

    def at(self, path: tuple[Any, ...], message: str) -> None:
        self.problems.add(self.doc.pos(path), message)


def check_journey_name(u: Unit) -> None:
    name = u.data.get("journey")
    if isinstance(name, str) and name != u.path.stem:
        u.at(("journey",), f'journey "{name}" must equal the file name "{u.path.stem}"')


def collect_ids(u: Unit) -> None:
    for i, step in enumerate(u.data["steps"]):
        sid = step.get("id") if isinstance(step, dict) else None
        if not isinstance(sid, str):
            continue
        if sid == END:
            u.at(("steps", i, "id"), '"end" is reserved: it ends the run; pick another step id')
        elif sid in u.ids:
            first = u.doc.pos(("steps", u.ids[sid], "id"))[0]
            u.at(("steps", i, "id"), f'duplicate step id "{sid}" (first at line {first})')
        else:
            u.ids[sid] = i


def _items(d: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The mappings in list `key` of `d`, tolerating anything (the schema reports the rest)."""
    value = d.get(key)
    for j, item in enumerate(value if isinstance(value, list) else ()):
        if isinstance(item, dict):
            yield j, item


def explicit_targets(i: int, d: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, value) of every step-id field the author wrote in step `i`."""
    base: tuple[Any, ...] = ("steps", i)
    for key in ("next", "on_timeout", "default"):
        if isinstance(d.get(key), str):
            yield base + (key,), d[key]
    for key in ("events", "cases", "variants"):
        for j, item in _items(d, key):
            if isinstance(item.get("next"), str):
                yield base + (key, j, "next"), item["next"]


def check_targets(u: Unit) -> None:
    for i, d in u.raw:
        for path, target in explicit_targets(i, d):
            if target != END and target not in u.ids:
                u.at(path, f'unknown step "{target}"{did_you_mean(target, list(u.ids) + [END])}')


def check_events(u: Unit) -> None:
    entry = u.data.get("entry")
    if isinstance(entry, dict) and isinstance(entry.get("event"), str):
        _check_event_name(u, ("entry", "event"), entry["event"])
    steps = u.data["steps"]
    for i, d in u.raw:
        for j, case in _items(d, "events"):
            path = ("steps", i, "events", j)
            event, of = case.get("event"), case.get("of")
            if not isinstance(event, str):
                continue
            _check_event_name(u, path + ("event",), event)
            if not isinstance(of, str):
                continue
            if of not in u.ids:
                u.at(path + ("of",), f'unknown step "{of}"{did_you_mean(of, list(u.ids))}')
                continue
            kind = steps[u.ids[of]].get("type")
            channel = CHANNEL_OF_STEP.get(kind) if kind != "webhook" else None
            if channel is None:
                u.at(path + ("of",), f'"of: {of}" names a {kind} step; it must name a send_email or send_sms step')
            elif event.split(".")[0] in ("email", "sms") and not event.startswith(channel + "."):
                u.at(path + ("event",), f'{event} cannot come from "{of}", which sends {channel}')


def _check_event_name(u: Unit, path: tuple[Any, ...], event: str) -> None:
    if event.split(".")[0] in ("email", "sms") and event not in BUILTIN_EVENTS:
        u.at(path, f'unknown event "{event}"{did_you_mean(event, BUILTIN_EVENTS)}; known: {", ".join(BUILTIN_EVENTS)}')


def _conditions(u: Unit) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, source) of the goal and every branch case's `when`."""
    where: list[tuple[tuple[Any, ...], Any]] = [(("goal",), u.data.get("goal"))]
    for i, d in u.raw:
        where += [(("steps", i, "cases", j, "when"), c.get("when")) for j, c in _items(d, "cases")]
    return ((path, source) for path, source in where if isinstance(source, str))


def check_conditions(u: Unit) -> None:
    for path, source in _conditions(u):
        for err in conditions.check(source):
            u.problems.add(u.doc.pos_in(path, err.col), err.message)


def check_splits(u: Unit) -> None:
    for i, d, step in u.steps:
        if not isinstance(step, ir.Split):
            continue
        seen: set[str] = set()
        for j, v in enumerate(step.variants):
            if v.name in seen:
                u.at(("steps", i, "variants", j, "name"), f'duplicate variant name "{v.name}"')
            seen.add(v.name)
        total = sum(v.percent for v in step.variants) + step.holdout
        if total != 100:
            parts = " + ".join(str(v.percent) for v in step.variants)
            u.at(("steps", i, "variants"), f'step "{step.id}": variant percents ({parts}) plus holdout ({step.holdout}) make {total}, not 100')


def check_consent(u: Unit) -> None:
    policy = u.data.get("policy") or {}
    consent = policy.get("consent") if isinstance(policy, dict) else None
    consent = consent if isinstance(consent, dict) else {}
    for i, d, step in u.steps:
        channel = CHANNEL_OF_STEP.get(step.type)
        if channel and channel not in consent and not d.get("purpose"):
            u.at(
                ("steps", i, "type"),
                f'step "{step.id}" uses {channel} but policy.consent declares no purpose for {channel}: '
                f"add policy: {{consent: {{{channel}: <purpose>}}}}",
            )


def check_references(u: Unit) -> None:
    """The entry segment, the stages `set` steps move to and conditions compare with, the consent
    purposes (covering the channel they are for) and the teams notify steps write to exist in
    their files."""
    folder = u.path.parent

    def ref(path: tuple[Any, ...], kind: str, name: str, channel: str | None = None, offset: int | None = None) -> None:
        message = references.problem(kind, name, folder, channel)
        if message:
            u.problems.add(u.doc.pos(path) if offset is None else u.doc.pos_in(path, offset), message)

    for path, source in _conditions(u):
        for offset, name in references.stage_literals(source):
            ref(path, "stage", name, offset=offset)
    entry = u.data.get("entry")
    if isinstance(entry, dict) and isinstance(entry.get("segment"), str):
        ref(("entry", "segment"), "segment", entry["segment"])
    policy = u.data.get("policy")
    consent = policy.get("consent") if isinstance(policy, dict) else None
    for channel, purpose in (consent.items() if isinstance(consent, dict) else ()):
        if isinstance(purpose, str):  # `profiling` is not a channel: consent on any channel counts
            ref(("policy", "consent", channel), "purpose", purpose, channel if channel in SEND_CHANNELS else None)
    for i, d, step in u.steps:
        if isinstance(step, ir.SetProfile) and step.stage:
            ref(("steps", i, "stage"), "stage", step.stage)
        elif isinstance(step, ir.Notify) and references.is_team(step.to):
            ref(("steps", i, "to"), "team", step.to)
        elif isinstance(d.get("purpose"), str) and step.type in CHANNEL_OF_STEP:
            ref(("steps", i, "purpose"), "purpose", d["purpose"], CHANNEL_OF_STEP[step.type])


def check_times(u: Unit) -> None:
    policy = u.data.get("policy")
    tz = policy.get("timezone") if isinstance(policy, dict) else None
    if isinstance(tz, str):
        _check_timezone(u, tz)
    quiet = policy.get("quiet_hours") if isinstance(policy, dict) else None
    if isinstance(quiet, dict) and quiet.get("from") == quiet.get("to") and "from" in quiet:
        u.at(("policy", "quiet_hours"), "policy.quiet_hours: from and to are the same time")
    for i, d, step in u.steps:
        if isinstance(step, ir.Wait) and step.until:
            try:
                datetime.fromisoformat(step.until)
            except ValueError:
                u.at(("steps", i, "until"), f'step "{step.id}": until "{step.until}" is not a real date and time')
        if isinstance(step, ir.Wait) and step.window and step.window.from_min == step.window.to_min and "from" in d["window"]:
            u.at(("steps", i, "window"), f'step "{step.id}": the window opens and closes at the same time')


def _check_timezone(u: Unit, tz: str) -> None:
    from zoneinfo import ZoneInfo, available_timezones

    try:
        ZoneInfo(tz)
        return
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        pass
    u.at(("policy", "timezone"), f'unknown time zone "{tz}"{did_you_mean(tz, sorted(available_timezones()))}')


def check_templates(u: Unit) -> None:
    folder = u.path.parent / "templates"
    for i, d, step in u.steps:
        path = ("steps", i, "template")
        if isinstance(step, ir.SendEmail):
            found = tpl.find_template(folder, step.template, tpl.EMAIL_PARTS)
        elif isinstance(step, ir.Notify):
            found = tpl.find_template(folder, step.template, tpl.NOTIFY_PARTS, ("html",))
        elif isinstance(step, ir.SendSms):
            found = tpl.find_template(folder, step.template, tpl.SMS_PARTS)
        else:
            if isinstance(step, ir.Webhook) and step.body:
                _check_inline_template(u, ("steps", i, "body"), step.body)
            continue
        for message in found.missing:
            u.at(path, message)
        for key, parts in found.parts.items():
            _report(u, parts.values())
            if isinstance(step, ir.SendSms):
                for f in parts.values():
                    for line, col, _name in f.refs:
                        u.problems.add((line, col), "an SMS template stands alone: it cannot use shared parts", path=str(f.path))
                u.sms_templates[key] = tpl.sms_template(parts)
            else:
                u.email_templates[key] = tpl.email_template(parts)
                _bundle_parts(u, folder, key, parts.values())


def _report(u: Unit, files: Iterable[tpl.TemplateFile]) -> None:
    """The issues found inside template files, at their own file, line and column."""
    for f in files:
        for line, col, message in f.issues:
            u.problems.add((line, col), message, path=str(f.path))


def _bundle_parts(u: Unit, folder: Path, key: str, files: Iterable[tpl.TemplateFile]) -> None:
    """Check the shared parts template `key` uses and carry them into the IR."""
    pieces = tpl.collect_parts(folder, files)
    for naming, line, col, message in pieces.missing:
        u.problems.add((line, col), message, path=str(naming))
    _report(u, pieces.files.values())
    if pieces.files:
        u.template_uses[key] = tuple(sorted(pieces.files))
        u.template_parts.update((name, f.text) for name, f in pieces.files.items())


def _check_inline_template(u: Unit, path: tuple[Any, ...], source: str) -> None:
    lines = source.split("\n")
    analysis = tpl.analyse(source)
    refused = [(line, col, "an inline template cannot use shared parts") for line, col, _ in analysis.refs]
    for line, col, message in analysis.issues + tuple(refused):
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + col - 1
        u.problems.add(u.doc.pos_in(path, offset), message)


def check_objectives(u: Unit) -> None:
    """A conversion_rate objective needs a goal: without one nothing converts, and the report
    would say "no goal" for ever. An error (the compiler has no warnings), at the objective's key."""
    objectives = u.data.get("objectives")
    if isinstance(objectives, dict) and "conversion_rate" in objectives and u.data.get("goal") is None:
        u.problems.add(u.doc.key_pos(("objectives", "conversion_rate")),
                       "objective conversion_rate needs a `goal` (a condition that says the contact converted): "
                       "add one, or drop the objective")


def check_flow(u: Unit) -> None:
    """Every step reachable from the first; no loop that could spin without waiting."""
    graph = {step.id: [t for t in step.targets() if t in u.ids] for _, _, step in u.steps}
    index = {step.id: i for i, _, step in u.steps}
    kinds = {step.id: step.type for _, _, step in u.steps}
    reach = {sid: _reachable(graph, sid) for sid in graph}
    first = u.steps[0][2].id
    for i, _, step in u.steps[1:]:
        if step.id not in reach[first]:
            u.at(("steps", i, "id"), f'step "{step.id}" is never reached: no path from "{first}" leads to it')
    reported: set[str] = set()
    for sid in graph:  # file order
        if sid in reported or sid not in reach[sid]:
            continue
        loop = [s for s in graph if s in reach[sid] and sid in reach[s]]
        reported.update(loop)
        if not any(kinds[s] in WAIT_TYPES for s in loop):
            u.at(
                ("steps", index[sid], "id"),
                f"steps {', '.join(loop)} form a loop without a wait or wait_for: a run would spin forever",
            )


def _reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    """Steps reachable from `start` in one or more moves."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        sid = todo.pop()
        if sid not in seen:
            seen.add(sid)
            todo.extend(graph[sid])
    return seen
