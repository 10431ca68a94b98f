"""`plan --out FILE` / `apply FILE`: a plan saved with what it deploys, so what is applied is
exactly what was reviewed.

The file is the plan's JSON (deploy/plan_format.py) plus `payload`: every journey's compiled IR,
the config files' contents, whether the path was a whole folder, and the plan's options.
`apply FILE` refuses it (nothing changed) when the live deployment is no longer the one the
plan was based on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.ir import Journey
from deploy.load import DeployError
from deploy.plan import Plan
from deploy.plan_format import FORMAT, plan_dict
from deploy.provenance import Source


@dataclass
class SavedPlan:
    journeys: dict[str, Journey]
    files: dict[str, str] | None
    whole_set: bool
    base_id: int
    base_commit: str | None
    source: Source | None
    drain: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    migrate: bool = False
    path: str | None = None  # the folder planned, as given (relative to where plan ran)


def save_plan(path: str | Path, plan: Plan, journeys: dict[str, Journey], source: Source | None, *,
              whole_set: bool, drain: list[str], resume: list[str], migrate: bool, folder: str | None = None) -> None:
    data = plan_dict(plan, source)
    data["payload"] = {"journeys": {j: journeys[j].to_dict() for j in sorted(journeys)}, "files": plan.files,
                       "whole_set": whole_set, "drain": drain, "resume": resume, "migrate": migrate,
                       "path": folder}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def is_saved_plan(path: str | Path) -> bool:
    """A JSON file with the plan format marker (journey files are YAML and never say it)."""
    p = Path(path)
    if not p.is_file() or p.suffix not in (".json", ".plan", ""):
        return False
    try:
        return json.loads(p.read_text(encoding="utf-8")).get("format") == FORMAT
    except (ValueError, UnicodeDecodeError, AttributeError):
        return False


def load_plan(path: str | Path) -> SavedPlan:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        payload = data["payload"]
        journeys = {j: Journey.from_dict(ir) for j, ir in payload["journeys"].items()}
        src = data.get("source")
        base = data.get("base") or {}
        return SavedPlan(journeys, payload.get("files"), bool(payload["whole_set"]), int(base.get("id") or 0),
                         base.get("commit"),
                         Source(src["commit"], bool(src["dirty"]), src["branch"], src["actor"]) if src else None,
                         list(payload.get("drain") or []), list(payload.get("resume") or []), bool(payload.get("migrate")),
                         payload.get("path"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeployError(f"{path}: not a usable saved plan ({type(exc).__name__}: {exc})") from None


def applying_source(saved: SavedPlan, actor_name: str | None) -> Source:
    """The provenance to record for a saved plan: the checkout where it is applied when its folder
    holds exactly the planned files (after a squash or merge commit on main: that commit, which
    later branches contain), else the commit the plan was made from; the actor is who applies."""
    from dataclasses import replace

    from deploy.load import folder_contents
    from deploy.provenance import actor, source_of

    if saved.path and saved.files is not None and Path(saved.path).is_dir():
        here = source_of(saved.path, actor_name)
        if here.commit and not here.dirty and folder_contents(saved.path) == saved.files:
            return here
    if saved.source is None:
        return source_of(".", actor_name)
    return replace(saved.source, actor=actor(actor_name))


def moved_refusal(saved: SavedPlan, live: Any) -> str:
    """Why the saved plan can no longer be applied ("" if it can)."""
    live_id = live.id if live else 0
    if live_id == saved.base_id:
        return ""
    planned = f"#{saved.base_id} ({(saved.base_commit or 'no commit')[:12]})" if saved.base_id else "nothing deployed"
    now = f"#{live.id} ({live.commit_label}, by {live.actor})" if live else "nothing"
    return (f"the live deployment moved since this plan was made (planned against {planned}, live now {now}); "
            "nothing applied: make a new plan")
