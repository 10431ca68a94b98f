"""A plan as JSON (stable, documented in docs/deploying.md) and as Markdown (a pull-request
comment: one section per journey or file, its step diff, the runs in flight).

JSON, `"format": "nurture-plan/1"`:
  changes (bool), base {id, commit} | null, source {commit, dirty, branch, actor} | null,
  journeys [{id, action, old_version, new_version, steps [str], settings [str],
             in_flight {version: {step: count}}}],
  config [{name, action, details [str], unified [str]}] (config files in YAML terms, templates as a diff), state_changes [{journey, before, after}],
  migrations [{journey, workflow_id, step, from_version, to_version, refusal}].
A saved plan (`plan --out FILE`) is the same object plus `payload` (what `apply FILE` deploys)."""

from __future__ import annotations

from typing import Any

from deploy.plan import JourneyPlan, Plan
from deploy.provenance import Source

FORMAT = "nurture-plan/1"


def _journey(p: JourneyPlan) -> dict[str, Any]:
    return {"id": p.journey_id, "action": p.action,
            "old_version": p.old.version if p.old else None, "new_version": p.new.version if p.new else None,
            "steps": [str(s) for s in p.diff.steps] if p.diff else [],
            "settings": list(p.diff.settings) if p.diff else [], "in_flight": p.in_flight}


def plan_dict(plan: Plan, source: Source | None = None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "changes": plan.has_changes,
        "base": {"id": plan.base_id, "commit": plan.base_commit} if plan.base_id else None,
        "source": ({"commit": source.commit, "dirty": source.dirty, "branch": source.branch, "actor": source.actor}
                   if source else None),
        "journeys": [_journey(p) for p in plan.journeys],
        "config": [{"name": c.name, "action": c.action, "details": list(c.details), "unified": list(c.unified)}
                   for c in plan.config],
        "state_changes": [{"journey": c.journey_id, "before": c.before, "after": c.after} for c in plan.state_changes],
        "migrations": [{"journey": m.journey_id, "workflow_id": m.workflow_id, "step": m.step,
                        "from_version": m.from_version, "to_version": m.to_version, "refusal": m.refusal}
                       for m in plan.migrations],
    }


def _fence(lines: list[str], lang: str = "diff") -> list[str]:
    return [f"```{lang}", *lines, "```"] if lines else []


def _in_flight_table(p: JourneyPlan) -> list[str]:
    rows = [(v, s, n) for v, steps in p.in_flight.items() for s, n in steps.items()]
    if not rows:
        return []
    return ["", "Runs in flight (they finish on their version):", "", "| version | step | runs |",
            "| --- | --- | ---: |", *[f"| `{v}` | `{s}` | {n} |" for v, s, n in rows]]


def plan_markdown(plan: Plan, source: Source | None = None) -> str:
    """A pull-request comment."""
    head = "## Nurture plan"
    where = []
    if source is not None:
        commit = f"`{source.commit[:12]}`" + (" (dirty)" if source.dirty else "") if source.commit else "no commit"
        where.append(f"from {commit}" + (f" on `{source.branch}`" if source.branch else ""))
    where.append(f"against deployment #{plan.base_id} (`{(plan.base_commit or 'no commit')[:12]}`)"
                 if plan.base_id else "against nothing deployed yet")
    out = [head, "", "Planned " + ", ".join(where) + "."]
    if not plan.has_changes:
        return "\n".join(out + ["", "**No changes.**"])
    sign = {"new": "+", "changed": "~", "removed": "-"}
    for p in plan.journeys:
        if p.action == "unchanged":
            continue
        versions = " -> ".join(f"`{v}`" for v in (p.old.version if p.old else None, p.new.version if p.new else None) if v)
        out += ["", f"### {sign[p.action]} journey `{p.journey_id}` ({p.action}, {versions})"]
        lines = [str(s) for s in p.diff.steps] + [f"~ {s}" for s in p.diff.settings] if p.diff else []
        if p.action == "new" and p.new:
            lines = [f"+ {s.id} ({s.type})" for s in p.new.steps]
        out += [""] + _fence(lines) if lines else []
        out += _in_flight_table(p)
    for c in plan.config:
        out += ["", f"### {sign[c.action]} `{c.name}` ({c.action})", ""]
        out += [f"- {d}" for d in c.details] + _fence(list(c.unified))
        if not c.details and not c.unified:
            out.append("- (content changed)" if c.action == "changed" else f"- ({c.action})")
    if plan.state_changes:
        out += ["", "### Journey states", ""] + [f"- `{c.journey_id}`: {c.before} -> {c.after}" for c in plan.state_changes]
    if plan.migrations:
        out += ["", "### Migrations", ""] + [
            f"- `{m.workflow_id}` at `{m.step}`: " + (f"refused: {m.refusal}" if m.refusal else f"moves to `{m.to_version}`")
            for m in plan.migrations]
    unchanged = len(plan.by_action("unchanged"))
    if unchanged:
        out += ["", f"{unchanged} journey(s) unchanged."]
    return "\n".join(out)
