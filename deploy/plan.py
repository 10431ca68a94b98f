"""What `apply` would do: compiled journeys compared with the versions deployed in the
store, with the runs in flight at each step of the older versions (from visibility).

A single-file PATH never removes other journeys; a folder is the whole set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.ir import Journey
from deploy.config_diff import ConfigChange, config_changes
from deploy.diff import JourneyDiff, diff_journeys, migration_refusal
from deploy.load import DeployError
from deploy.visibility import running_by_step


@dataclass
class JourneyPlan:
    journey_id: str
    action: str  # new | changed | removed | unchanged
    new: Journey | None = None
    old: Journey | None = None  # the active deployed version
    diff: JourneyDiff | None = None
    # runs in flight on versions other than the one being deployed: version -> step -> count
    in_flight: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StateChange:
    journey_id: str
    before: str
    after: str  # active | draining | removed


@dataclass(frozen=True)
class Migration:
    journey_id: str
    workflow_id: str
    from_version: str
    to_version: str
    step: str | None
    refusal: str = ""  # why it stays where it is ("" = it moves)


@dataclass
class Plan:
    journeys: list[JourneyPlan]
    state_changes: list[StateChange] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    config: list[ConfigChange] = field(default_factory=list)
    base_id: int = 0  # the live deployment the plan was made against (0: none yet)
    base_commit: str | None = None
    # the folder's config files (name -> content); None: a single journey file, the live ones stay
    files: dict[str, str] | None = None

    def by_action(self, action: str) -> list[JourneyPlan]:
        return [j for j in self.journeys if j.action == action]

    @property
    def has_changes(self) -> bool:
        return bool(self.state_changes or self.migrations or self.config
                    or any(j.action != "unchanged" for j in self.journeys))

    def change_lines(self) -> list[str]:
        """One line per change, as a deployment records them."""
        lines = [f"+ {p.journey_id} {p.new.version}" for p in self.by_action("new") if p.new]
        lines += [f"~ {p.journey_id} {p.old.version} -> {p.new.version}"
                  for p in self.by_action("changed") if p.new and p.old]
        lines += [f"- {p.journey_id}" for p in self.by_action("removed")]
        lines += [f"* {c.journey_id}: {c.before} -> {c.after}" for c in self.state_changes]
        lines += [f"{'+~-'[('new', 'changed', 'removed').index(c.action)]} {c.name}"
                  + (f": {'; '.join(c.details)}" if c.details else "") for c in self.config]
        return lines


def deployed(store: Any, journey_id: str, version: str | None) -> Journey | None:
    ir = store.get_journey_version(journey_id, version) if version else None
    return Journey.from_dict(ir) if ir else None


def _compare(store: Any, journeys: dict[str, Journey], whole_set: bool) -> list[JourneyPlan]:
    states = {s.journey_id: s for s in store.list_journeys()}
    out: list[JourneyPlan] = []
    for jid, new in sorted(journeys.items()):
        state = states.get(jid)
        old = deployed(store, jid, state.active_version if state else None)
        if old is None:
            out.append(JourneyPlan(jid, "new", new=new))
        elif old.version != new.version:
            out.append(JourneyPlan(jid, "changed", new=new, old=old, diff=diff_journeys(old, new)))
        else:
            out.append(JourneyPlan(jid, "unchanged", new=new, old=old))
    if whole_set:
        for jid, state in sorted(states.items()):
            if jid not in journeys and state.state != "removed":
                out.append(JourneyPlan(jid, "removed", old=deployed(store, jid, state.active_version)))
    return out


def _state_changes(store: Any, plans: list[JourneyPlan], drain: list[str], resume: list[str]) -> list[StateChange]:
    known = {p.journey_id: p for p in plans}
    changes: list[StateChange] = []
    for jid, target in [(j, "draining") for j in drain] + [(j, "active") for j in resume]:
        if jid not in known or known[jid].action == "removed":
            raise DeployError(f"--{'drain' if target == 'draining' else 'resume'} {jid}: no such journey in the files")
        state = store.get_journey_state(jid)
        before = state.state if state else "active"
        if before != target:
            changes.append(StateChange(jid, before, target))
    for p in plans:  # a removed journey that comes back in the files is active again
        state = store.get_journey_state(p.journey_id)
        if p.action != "removed" and state is not None and state.state == "removed" and p.journey_id not in drain:
            changes.append(StateChange(p.journey_id, "removed", "active"))
    return changes


async def _in_flight(client: Any, store: Any, plan: JourneyPlan) -> None:
    """Runs on every deployed version other than the one the files now hold."""
    target = plan.new.version if plan.new else None
    for v in store.list_journey_versions(plan.journey_id):
        if v.version == target:
            continue
        journey = deployed(store, plan.journey_id, v.version)
        if journey is not None:
            counts = await running_by_step(client, journey)
            if counts:
                plan.in_flight[v.version] = counts


async def _migrations(client: Any, store: Any, plan: JourneyPlan) -> list[Migration]:
    from deploy.visibility import running_query

    assert plan.new is not None
    out: list[Migration] = []
    for version in plan.in_flight:
        old = deployed(store, plan.journey_id, version)
        assert old is not None
        async for wf in client.list_workflows(running_query(plan.journey_id, version)):
            step = (wf.search_attributes.get("Step") or [None])[0]
            refusal = migration_refusal(old, plan.new, step)
            out.append(Migration(plan.journey_id, wf.id, version, plan.new.version, step, refusal))
    return out


async def build_plan(
    client: Any,
    store: Any,
    journeys: dict[str, Journey],
    *,
    whole_set: bool = True,
    drain: list[str] | None = None,
    resume: list[str] | None = None,
    migrate: bool = False,
    files: dict[str, str] | None = None,
) -> Plan:
    """`files`: the folder's config files (name -> content), None for a single journey file."""
    live = store.live_deployment()
    plans = _compare(store, journeys, whole_set)
    plan = Plan(plans, _state_changes(store, plans, drain or [], resume or []),
                base_id=live.id if live else 0, base_commit=live.commit if live else None, files=files)
    plan.config = config_changes(store, files, plan.base_id)
    for p in plans:
        if p.action in ("changed", "unchanged", "removed"):
            await _in_flight(client, store, p)
        if migrate and p.new is not None and p.in_flight:
            plan.migrations += await _migrations(client, store, p)
    return plan
