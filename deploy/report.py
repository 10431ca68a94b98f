"""Plain-text rendering of plans, apply reports and status counts for the CLI."""

from __future__ import annotations

from deploy.apply import ApplyReport
from deploy.plan import Plan
from deploy.visibility import StepCount

NO_CHANGES = "no changes"


def format_plan(plan: Plan) -> str:
    if not plan.has_changes:
        return NO_CHANGES
    lines: list[str] = []
    for p in plan.journeys:
        if p.action == "new" and p.new:
            lines.append(f"+ {p.journey_id}: new, version {p.new.version} ({len(p.new.steps)} steps)")
        elif p.action == "changed" and p.new and p.old:
            lines.append(f"~ {p.journey_id}: {p.old.version} -> {p.new.version}")
            lines += [f"    {line}" for line in (p.diff.lines() if p.diff else [])]
        elif p.action == "removed":
            lines.append(f"- {p.journey_id}: removed (no new entries; runs in flight finish)")
        if p.action != "unchanged" or plan.migrations:
            for version, steps in p.in_flight.items():
                where = ", ".join(f"{s}: {n}" for s, n in steps.items())
                lines.append(f"    runs in flight on {version}: {where}")
    for f in plan.config:
        lines.append(f"{'+~-'[('new', 'changed', 'removed').index(f.action)]} {f.name}: {f.action}")
        lines += [f"    {d}" for d in f.details] + [f"    {u}" for u in f.unified]
    for c in plan.state_changes:
        lines.append(f"* {c.journey_id}: {c.before} -> {c.after}")
    for m in plan.migrations:
        verdict = f"REFUSED: {m.refusal}" if m.refusal else f"moves to {m.to_version}"
        lines.append(f"  migrate {m.workflow_id} (at {m.step}): {verdict}")
    unchanged = len(plan.by_action("unchanged"))
    if unchanged:
        lines.append(f"({unchanged} journey(s) unchanged)")
    return "\n".join(lines)


def format_report(report: ApplyReport) -> str:
    lines = list(report.actions) or [NO_CHANGES]
    lines += [report.recorded] if report.recorded else []
    if report.refused:
        lines.append(f"{len(report.refused)} run(s) not migrated:")
        lines += [f"  {m.workflow_id} (at {m.step}): {m.refusal}" for m in report.refused]
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


def format_status(rows: list[StepCount]) -> str:
    if not rows:
        return "no runs in flight"
    width = max(len(r.step) for r in rows)
    lines: list[str] = []
    current: tuple[str, str] | None = None
    for r in rows:
        if (r.journey, r.version) != current:
            current = (r.journey, r.version)
            total = sum(x.running for x in rows if (x.journey, x.version) == current)
            lines.append(f"{r.journey} @ {r.version}: {total} running")
        lines.append(f"  {r.step:<{width}}  {r.running}" + (f"  {'; '.join(r.why)}" if r.why else ""))
    return "\n".join(lines)
