"""Wiring the marketing model into the one events path (engine.events.EVENT_HOOKS).

A worker, server or CLI that loaded the config calls `install_hooks(scoring, stages)`. A
process that publishes before anyone did gets `install_default()`, called once by
engine.events.ensure_hooks(): it loads scoring.yaml and stages.yaml from the journeys folder
(NURTURE_JOURNEYS_DIR, else ./journeys), skipping a file that is absent. Scoring runs before
stages so a threshold rule sees the points the same event earned.
"""

from __future__ import annotations

import os
from pathlib import Path

from marketing.scoring import scoring_hook
from marketing.scoring_model import FILE_NAME as SCORING_FILE, ScoringModel, load_scoring
from marketing.stages import FILE_NAME as STAGES_FILE, StagesModel, load_stages, stages_hook

_HOOK_NAMES = ("scoring_hook", "stages_hook")
_installed = False


def journeys_dir() -> Path:
    return Path(os.environ.get("NURTURE_JOURNEYS_DIR") or "journeys")


def install_hooks(scoring: ScoringModel | None, stages: StagesModel | None) -> None:
    """Put the scoring and stage hooks into EVENT_HOOKS, replacing any installed before."""
    global _installed
    from engine.events import EVENT_HOOKS

    EVENT_HOOKS[:] = [h for h in EVENT_HOOKS if getattr(h, "__name__", "") not in _HOOK_NAMES]
    ours = [scoring_hook(scoring)] if scoring else []
    ours += [stages_hook(stages)] if stages else []
    EVENT_HOOKS[0:0] = ours  # first: rules that react to scores and stages run after them
    _installed = True


def load_models(folder: Path | None = None) -> tuple[ScoringModel | None, StagesModel | None]:
    """The models from `folder` (default journeys_dir()); None for an absent file. ConfigError if bad."""
    folder = folder or journeys_dir()
    scoring = load_scoring(folder / SCORING_FILE) if (folder / SCORING_FILE).is_file() else None
    stages = load_stages(folder / STAGES_FILE) if (folder / STAGES_FILE).is_file() else None
    return scoring, stages


def install_default() -> None:
    """Install from the journeys folder unless someone already installed hooks."""
    if not _installed:
        install_hooks(*load_models())


def temperature_thresholds(folder: Path | None = None) -> tuple[int, int]:
    """(warm, hot) of the global score from scoring.yaml, for profiles that journeys read."""
    path = (folder or journeys_dir()) / SCORING_FILE
    return load_scoring(path).thresholds if path.is_file() else ScoringModel(rules=()).thresholds
