"""A readable difference between two versions of one journey: steps added, removed and
changed (with the fields that changed), templates whose content changed, and journey-level
settings (entry, goal, policy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from compiler.ir import Journey, Step

JOURNEY_FIELDS = ("title", "entry", "goal", "policy", "objectives")


@dataclass(frozen=True)
class StepChange:
    step_id: str
    kind: str  # added | removed | changed
    step_type: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        extra = f": {'; '.join(self.details)}" if self.details else ""
        return f"{sign} {self.step_id} ({self.step_type}){extra}"


@dataclass(frozen=True)
class JourneyDiff:
    steps: tuple[StepChange, ...] = ()
    settings: tuple[str, ...] = field(default_factory=tuple)  # "policy changed", ...

    def lines(self) -> list[str]:
        return [str(s) for s in self.steps] + [f"~ {s}" for s in self.settings]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _templates(journey: Journey) -> dict[str, Any]:
    """Template base name -> its content in every locale (email and SMS) and the shared parts it uses."""
    out: dict[str, dict[str, Any]] = {}
    for name, tpl in journey.email_templates + journey.sms_templates:
        out.setdefault(name.split(".")[0], {})[name] = asdict(tpl)
    for base, content in out.items():
        content["_parts"] = journey.parts_for(base)  # an edited _layout.html changes the template
    return out


def _step_fields(step: Step) -> dict[str, Any]:
    data = asdict(step)
    data.pop("id", None)
    return data


def diff_step(old: Step, new: Step, changed_templates: set[str]) -> tuple[str, ...]:
    """What changed in a step that kept its id ("" when nothing did)."""
    if old.type != new.type:
        return (f"type {old.type} -> {new.type}",)
    a, b = _step_fields(old), _step_fields(new)
    details = [f"{k}: {_short(a.get(k))} -> {_short(b.get(k))}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    template = b.get("template")
    if template and template == a.get("template") and template in changed_templates:
        details.append(f"template {template} content changed")
    return tuple(details)


def diff_journeys(old: Journey, new: Journey) -> JourneyDiff:
    old_steps = {s.id: s for s in old.steps}
    new_steps = {s.id: s for s in new.steps}
    t_old, t_new = _templates(old), _templates(new)
    changed_templates = {n for n in set(t_old) | set(t_new) if t_old.get(n) != t_new.get(n)}
    changes: list[StepChange] = []
    for step in new.steps:
        before = old_steps.get(step.id)
        if before is None:
            changes.append(StepChange(step.id, "added", step.type))
        else:
            details = diff_step(before, step, changed_templates)
            if details:
                changes.append(StepChange(step.id, "changed", step.type, details))
    changes += [StepChange(s.id, "removed", s.type) for s in old.steps if s.id not in new_steps]
    a, b = old.to_dict(), new.to_dict()
    settings = [f"{name} changed" for name in JOURNEY_FIELDS if a.get(name) != b.get(name)]
    if [s.id for s in old.steps if s.id in new_steps] != [s.id for s in new.steps if s.id in old_steps]:
        settings.append("step order changed")
    return JourneyDiff(tuple(changes), tuple(settings))


def migration_refusal(old: Journey, new: Journey, step_id: str | None) -> str:
    """Why a run at `step_id` of `old` cannot move to `new` ("" if it can)."""
    if not step_id:
        return "the run has not reached a step yet"
    try:
        new_step = new.step(step_id)
    except KeyError:
        return f"step {step_id!r} is gone in version {new.version}"
    try:
        old_type = old.step(step_id).type
    except KeyError:
        return ""
    if old_type != new_step.type:
        return f"step {step_id!r} changed type ({old_type} -> {new_step.type})"
    return ""
