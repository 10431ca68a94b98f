"""The compiled journey (IR): immutable, typed, plain data.

The compiler produces a `Journey`; the workflow receives it as a plain dict
(`Journey.to_dict()`) in its input and rebuilds it with `Journey.from_dict()`.
Everything here is deterministic and free of I/O, so workflow code may import it.

Conventions:
- durations are whole seconds (`*_s` fields);
- clock times are minutes after midnight (`*_min` fields);
- `next is None` means "end the run after this step";
- conditions are kept as source strings and evaluated by `compiler.conditions`;
- templates are carried inside the IR so a run renders exactly what its version shipped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

IR_FORMAT = 1

SENDER_FIELDS = ("sender", "reply_to")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, kw_only=True)
class Entry:
    """Who enters: `kind` is "event", "segment" or "manual"."""

    kind: str
    event: str | None = None
    key: str | None = None
    segment: str | None = None
    reentry: str = "never"  # never | always | after
    reentry_after_s: int | None = None


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    from_min: int
    to_min: int


@dataclass(frozen=True, kw_only=True)
class FrequencyCap:
    channel: str
    max: int
    per_s: int


@dataclass(frozen=True, kw_only=True)
class Window:
    """A send window in the contact's time zone. `days` are 0=Monday .. 6=Sunday."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    from_min: int = 0
    to_min: int = 24 * 60


@dataclass(frozen=True, kw_only=True)
class Policy:
    consent: tuple[tuple[str, str], ...] = ()  # (channel, purpose)
    on_no_consent: str = "skip"  # skip | exit
    quiet_hours: QuietHours | None = None
    timezone: str = "UTC"
    frequency_caps: tuple[FrequencyCap, ...] = ()

    def purpose_for(self, channel: str) -> str | None:
        for ch, purpose in self.consent:
            if ch == channel:
                return purpose
        return None


@dataclass(frozen=True, kw_only=True)
class EmailTemplate:
    subject: str
    html: str
    text: str


@dataclass(frozen=True, kw_only=True)
class SmsTemplate:
    body: str


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, kw_only=True)
class Step:
    """Base of every step. `type` names the handler that runs it."""

    TYPE: ClassVar[str] = ""
    id: str
    type: str = ""
    next: str | None = None

    def __post_init__(self) -> None:
        if not self.type:
            object.__setattr__(self, "type", self.TYPE)

    def targets(self) -> list[str]:
        """Every step id this step may continue to (for graph checks and pictures)."""
        return [self.next] if self.next else []


@dataclass(frozen=True, kw_only=True)
class SendEmail(Step):
    TYPE: ClassVar[str] = "send_email"
    template: str
    purpose: str | None = None  # None: the journey policy's purpose for email
    on_failure: str = "skip"  # skip | exit


@dataclass(frozen=True, kw_only=True)
class SendSms(Step):
    TYPE: ClassVar[str] = "send_sms"
    template: str
    purpose: str | None = None
    on_failure: str = "skip"


@dataclass(frozen=True, kw_only=True)
class Wait(Step):
    """Exactly one of `duration_s`, `until` (RFC 3339) or `until_attribute` is set."""

    TYPE: ClassVar[str] = "wait"
    duration_s: int | None = None
    until: str | None = None
    until_attribute: str | None = None
    offset_s: int = 0
    window: Window | None = None


@dataclass(frozen=True, kw_only=True)
class EventCase:
    event: str
    of: str | None = None  # the step whose message the event refers to
    next: str | None = None


@dataclass(frozen=True, kw_only=True)
class WaitFor(Step):
    TYPE: ClassVar[str] = "wait_for"
    events: tuple[EventCase, ...]
    timeout_s: int | None = None
    on_timeout: str | None = None

    def targets(self) -> list[str]:
        out = [c.next for c in self.events if c.next]
        if self.on_timeout:
            out.append(self.on_timeout)
        return out


@dataclass(frozen=True, kw_only=True)
class Case:
    when: str
    next: str | None


@dataclass(frozen=True, kw_only=True)
class Branch(Step):
    TYPE: ClassVar[str] = "branch"
    cases: tuple[Case, ...]
    default: str | None

    def targets(self) -> list[str]:
        out = [c.next for c in self.cases if c.next]
        if self.default:
            out.append(self.default)
        return out


@dataclass(frozen=True, kw_only=True)
class Variant:
    name: str
    percent: int
    next: str | None


@dataclass(frozen=True, kw_only=True)
class Split(Step):
    """Variants plus an optional holdout; a holdout run ends (`next` is where it goes)."""

    TYPE: ClassVar[str] = "split"
    variants: tuple[Variant, ...]
    holdout: int = 0

    def targets(self) -> list[str]:
        return [v.next for v in self.variants if v.next]


@dataclass(frozen=True, kw_only=True)
class SetProfile(Step):
    TYPE: ClassVar[str] = "set"
    stage: str | None = None
    score_add: int | None = None
    score_set: int | None = None
    tags_add: tuple[str, ...] = ()
    tags_remove: tuple[str, ...] = ()
    attributes: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Notify(Step):
    TYPE: ClassVar[str] = "notify"
    to: str
    template: str


@dataclass(frozen=True, kw_only=True)
class Webhook(Step):
    TYPE: ClassVar[str] = "webhook"
    url: str
    method: str = "POST"
    body: str | None = None  # a Jinja2 template string
    purpose: str | None = None


@dataclass(frozen=True, kw_only=True)
class Exit(Step):
    TYPE: ClassVar[str] = "exit"
    reason: str = "exit"


STEP_TYPES: dict[str, type[Step]] = {
    cls.TYPE: cls
    for cls in (SendEmail, SendSms, Wait, WaitFor, Branch, Split, SetProfile, Notify, Webhook, Exit)
}


# ---------------------------------------------------------------- journey


@dataclass(frozen=True, kw_only=True)
class Journey:
    id: str
    title: str = ""
    description: str = ""
    entry: Entry
    goal: str | None = None
    policy: Policy = field(default_factory=Policy)
    steps: tuple[Step, ...]
    email_templates: tuple[tuple[str, EmailTemplate], ...] = ()  # ("name" or "name.es", template)
    sms_templates: tuple[tuple[str, SmsTemplate], ...] = ()
    # shared pieces of templates (`_layout.html`): (name, source), and which ones each
    # template ("name" or "name.es") uses, directly or through another piece
    template_parts: tuple[tuple[str, str], ...] = ()
    template_uses: tuple[tuple[str, tuple[str, ...]], ...] = ()
    objectives: tuple[tuple[str, float], ...] = ()
    # the email sender ("Name <address>") and Reply-To: the journey's `from`/`reply_to`, else
    # sending.yaml's; None: the worker's NURTURE_SENDER (activities.deps)
    sender: str | None = None
    reply_to: str | None = None
    version: str = ""

    # -- lookups (plain loops: journeys are small and this must stay deterministic)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def first_step(self) -> str:
        return self.steps[0].id

    def email_template(self, name: str, locale: str | None = None) -> EmailTemplate:
        return pick_locale(dict(self.email_templates), name, locale)

    def sms_template(self, name: str, locale: str | None = None) -> SmsTemplate:
        return pick_locale(dict(self.sms_templates), name, locale)

    def parts_for(self, name: str) -> dict[str, str]:
        """The shared pieces that template `name` and its locale variants use: {name: source}."""
        used: set[str] = set()
        for key, names in self.template_uses:
            if key == name or key.startswith(name + "."):
                used.update(names)
        return {part: source for part, source in self.template_parts if part in used}

    # -- serialisation

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in SENDER_FIELDS:  # absent when unset: a journey without one keeps its version
            if data[key] is None:
                del data[key]
        data["ir_format"] = IR_FORMAT
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Journey":
        data = dict(data)
        data.pop("ir_format", None)
        policy = dict(data.get("policy") or {})
        return cls(
            id=data["id"],
            title=data.get("title", ""),
            description=data.get("description", ""),
            entry=Entry(**data["entry"]),
            goal=data.get("goal"),
            policy=Policy(
                consent=_pairs(policy.get("consent", ())),
                on_no_consent=policy.get("on_no_consent", "skip"),
                quiet_hours=QuietHours(**policy["quiet_hours"]) if policy.get("quiet_hours") else None,
                timezone=policy.get("timezone", "UTC"),
                frequency_caps=tuple(FrequencyCap(**c) for c in policy.get("frequency_caps", ())),
            ),
            steps=tuple(step_from_dict(s) for s in data["steps"]),
            email_templates=tuple((n, EmailTemplate(**t)) for n, t in data.get("email_templates", ())),
            sms_templates=tuple((n, SmsTemplate(**t)) for n, t in data.get("sms_templates", ())),
            template_parts=_pairs(data.get("template_parts", ())),
            template_uses=tuple((n, tuple(uses)) for n, uses in data.get("template_uses", ())),
            objectives=_pairs(data.get("objectives", ())),
            sender=data.get("sender"),
            reply_to=data.get("reply_to"),
            version=data.get("version", ""),
        )

    def content_hash(self) -> str:
        """The version: a hash of everything that affects behaviour (not of formatting)."""
        data = self.to_dict()
        data["version"] = ""
        for key in ("template_parts", "template_uses"):  # absent before layouts: keep those versions
            if not data[key]:
                del data[key]
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _pairs(items: Any) -> tuple[tuple[Any, Any], ...]:
    return tuple((a, b) for a, b in items)


def pick_locale(table: dict[str, Any], name: str, locale: str | None) -> Any:
    """`welcome` in locale `es-MX` tries `welcome.es-mx`, `welcome.es`, then `welcome`."""
    if locale:
        loc = locale.lower().replace("_", "-")
        for candidate in (f"{name}.{loc}", f"{name}.{loc.split('-')[0]}"):
            if candidate in table:
                return table[candidate]
    return table[name]


_NESTED = {
    "window": Window,
    "events": EventCase,
    "cases": Case,
    "variants": Variant,
}


def step_from_dict(data: dict[str, Any]) -> Step:
    cls = STEP_TYPES[data["type"]]
    kwargs: dict[str, Any] = {}
    names = {f.name for f in fields(cls)}
    for key, value in data.items():
        if key not in names:
            continue
        nested = _NESTED.get(key)
        if nested is Window and value is not None:
            value = Window(**{**value, "days": tuple(value["days"])})
        elif nested is not None and value is not None:
            value = tuple(nested(**v) for v in value)
        elif key in ("tags_add", "tags_remove"):
            value = tuple(value)
        elif key == "attributes":
            value = _pairs(value)
        kwargs[key] = value
    return cls(**kwargs)
