"""A readable difference between two versions of one journey: steps added, removed and
changed (with the fields that changed), templates whose content changed (which files), and
journey-level settings (entry, goal, policy, ...). Every field is shown in the journey file's
terms (`duration: 3d -> 2d`, `policy.quiet_hours.from: "21:00" -> "22:00"`), rendered from the
IR by compiler.yaml_terms: deployed versions are stored as IR only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from compiler.ir import Journey, Step
from compiler.yaml_terms import changes, render, settings_yaml, step_yaml


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


def _shorten(a: str, b: str, limit: int = 70) -> tuple[str, str]:
    """Two long renderings cut to `limit` around where they first differ (not both to the same
    first 70 characters of a long description)."""
    if len(a) <= limit and len(b) <= limit:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, min(first - 20, max(len(a), len(b)) - limit))

    def cut(text: str) -> str:
        part = text[start:start + limit]
        return ("..." if start else "") + part + ("..." if start + limit < len(text) else "")

    return cut(a), cut(b)


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`key: old -> new` for what differs, in the file's terms and order."""
    return [f"{key}: {' -> '.join(_shorten(render(a), render(b)))}" for key, a, b in changes(old, new)]


_FILE_OF = {"subject": "subject.txt", "html": "html", "text": "txt", "body": "sms.txt"}


def _templates(journey: Journey) -> dict[str, dict[str, str]]:
    """Template base name -> {file name: content} over every locale (email and SMS), with the
    shared parts it uses (`_layout.html`: an edited layout changes the template)."""
    out: dict[str, dict[str, str]] = {}
    for name, tpl in journey.email_templates + journey.sms_templates:
        files = out.setdefault(name.split(".")[0], {})
        for key, text in asdict(tpl).items():
            files[f"{name}.{_FILE_OF.get(key, key)}"] = text
    for base, files in out.items():
        files.update(journey.parts_for(base))
    return out


def _following(journey: Journey) -> dict[str, str | None]:
    """Step id -> the id of the step after it in the list (what an absent `next` means)."""
    ids = [s.id for s in journey.steps]
    return {sid: (ids[i + 1] if i + 1 < len(ids) else None) for i, sid in enumerate(ids)}


def diff_step(old: Step, new: Step, changed_templates: dict[str, list[str]],
              old_following: str | None = None, new_following: str | None = None) -> tuple[str, ...]:
    """What changed in a step that kept its id (() when nothing did). `*_following`: the step
    after it in each version's list, which its absent `next` means."""
    if old.type != new.type:
        return (f"type: {old.type} -> {new.type}",)
    a, b = step_yaml(old, old_following), step_yaml(new, new_following)
    details = field_changes(a, b)
    template = b.get("template")
    if template and template == a.get("template") and template in changed_templates:
        details.append(f"template {template} content changed ({', '.join(changed_templates[template])})")
    return tuple(details)


def diff_journeys(old: Journey, new: Journey) -> JourneyDiff:
    old_steps = {s.id: s for s in old.steps}
    new_steps = {s.id: s for s in new.steps}
    t_old, t_new = _templates(old), _templates(new)
    changed_templates = {
        n: sorted(f for f in set(t_old.get(n, {})) | set(t_new.get(n, {})) if t_old.get(n, {}).get(f) != t_new.get(n, {}).get(f))
        for n in set(t_old) | set(t_new)
        if t_old.get(n) != t_new.get(n)
    }
    f_old, f_new = _following(old), _following(new)
    changes: list[StepChange] = []
    for step in new.steps:
        before = old_steps.get(step.id)
        if before is None:
            changes.append(StepChange(step.id, "added", step.type))
        else:
            details = diff_step(before, step, changed_templates, f_old[step.id], f_new[step.id])
            if details:
                changes.append(StepChange(step.id, "changed", step.type, details))
    changes += [StepChange(s.id, "removed", s.type) for s in old.steps if s.id not in new_steps]
    settings = field_changes(settings_yaml(old), settings_yaml(new))
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
