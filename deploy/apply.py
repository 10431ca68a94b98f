"""Carry out a Plan: register search attributes, record every new version in the store,
set journey states (active / draining / removed), keep segment-sweep schedules in step,
and (with --migrate) ask runs on older versions to move to the new one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from deploy.plan import Migration, Plan
from deploy.provenance import Source, actor
from deploy.schedules import DEFAULT_EVERY, delete_schedule, ensure_schedule
from deploy.search_attributes import ensure_search_attributes
from workflows.run_types import SIGNAL_MIGRATE, TASK_QUEUE, MigrateRequest


@dataclass
class ApplyReport:
    actions: list[str] = field(default_factory=list)
    refused: list[Migration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    deployment_id: int | None = None  # the deployment recorded (None: nothing changed)
    recorded: str = ""  # "deployment #3 recorded (commit, by actor)"

    @property
    def changed(self) -> bool:
        return bool(self.actions)


def _activated(plan: Plan) -> dict[str, tuple[str | None, str]]:
    """Journey id -> (version, action) for every journey the deployment changes."""
    out = {p.journey_id: (p.new.version if p.new else (p.old.version if p.old else None), p.action)
           for p in plan.journeys if p.action != "unchanged"}
    for change in plan.state_changes:
        version = next((p.new.version for p in plan.journeys if p.journey_id == change.journey_id and p.new), None)
        out.setdefault(change.journey_id, (version, change.after))
    return out


def record_deployment(store: Any, plan: Plan, source: Source | None, report: ApplyReport) -> None:
    """The journey versions, their states and the deployment row (provenance, what changed,
    the config files) in one store transaction: all or nothing. StaleDeployment if the live
    deployment is no longer the plan's base."""
    from store.deployments import NewDeployment

    if not plan.has_changes:
        return
    source = source or Source(None, False, None, actor(None))
    files = plan.files
    if files is None:  # a single journey file: the live config files stay as they are
        live = store.get_deployment(plan.base_id) if plan.base_id else None
        files = {n: store.file_content(h) or "" for n, h in live.files.items()} if live else {}
    with store.transaction():
        _record_versions(store, plan, report)
        report.deployment_id = store.record_deployment(NewDeployment(
            commit=source.commit, dirty=source.dirty, branch=source.branch, actor=source.actor,
            changes=plan.change_lines(), journeys=_activated(plan), files=files), base_id=plan.base_id)
    report.actions += [f"{c.name} {c.action}" for c in plan.config]
    label = source.commit[:12] + ("+dirty" if source.dirty else "") if source.commit else "no commit"
    report.recorded = f"deployment #{report.deployment_id} recorded ({label}, by {source.actor})"


def _record_versions(store: Any, plan: Plan, report: ApplyReport) -> None:
    for p in plan.journeys:
        if p.action in ("new", "changed") and p.new is not None:
            store.save_journey_version(p.journey_id, p.new.version, p.new.to_dict())
            store.set_journey_state(p.journey_id, active_version=p.new.version)
            what = "deployed" if p.action == "new" else f"updated {p.old.version if p.old else '?'} ->"
            report.actions.append(f"{what} {p.journey_id} {p.new.version}")
        elif p.action == "removed":
            store.set_journey_state(p.journey_id, state="removed")
            report.actions.append(f"removed {p.journey_id} (runs in flight finish on their version)")
    for change in plan.state_changes:
        store.set_journey_state(change.journey_id, state=change.after)
        report.actions.append(f"{change.journey_id}: {change.before} -> {change.after}")


async def _schedules(client: Any, store: Any, plan: Plan, task_queue: str, every: timedelta,
                     report: ApplyReport) -> None:
    from activities.sweep import NO_SEGMENTS, segment_members_function

    for p in plan.journeys:
        journey = p.new or p.old
        if journey is None or journey.entry.kind != "segment":
            continue
        state = store.get_journey_state(p.journey_id)
        if p.action != "removed" and state is not None and state.state == "active":
            outcome = await ensure_schedule(client, p.journey_id, task_queue, every)
            if outcome != "unchanged":
                report.actions.append(f"schedule segment-sweep/{p.journey_id} {outcome} (every {every})")
            if segment_members_function() is None:
                report.warnings.append(f"{p.journey_id}: {NO_SEGMENTS}; its sweeps will fail until it is")
        elif await delete_schedule(client, p.journey_id):
            report.actions.append(f"schedule segment-sweep/{p.journey_id} deleted")


async def _migrate(client: Any, plan: Plan, report: ApplyReport) -> None:
    targets = {p.journey_id: p.new for p in plan.journeys if p.new is not None}
    for m in plan.migrations:
        if m.refusal:
            report.refused.append(m)
            continue
        request = MigrateRequest(journey=targets[m.journey_id].to_dict())
        await client.get_workflow_handle(m.workflow_id).signal(SIGNAL_MIGRATE, request)
        report.actions.append(f"migrating {m.workflow_id} at {m.step}: {m.from_version} -> {m.to_version}")


async def apply_plan(
    client: Any,
    store: Any,
    plan: Plan,
    *,
    task_queue: str = TASK_QUEUE,
    sweep_every: timedelta = DEFAULT_EVERY,
    source: Source | None = None,
) -> ApplyReport:
    """Deploy `plan`: search attributes first, then the versions and the deployment record in
    one store transaction (nothing else when that is refused as stale), then Temporal's
    schedules and migrations. `source`: the provenance (default: no commit, the local actor)."""
    report = ApplyReport()
    added = await ensure_search_attributes(client)
    if added:
        report.actions.append(f"registered search attributes: {', '.join(added)}")
    record_deployment(store, plan, source, report)
    await _schedules(client, store, plan, task_queue, sweep_every, report)
    await _migrate(client, plan, report)
    return report
