"""Wiring the marketing model into the one events path (engine.events.EVENT_HOOKS).

`install_hooks(scoring, stages)` pins given models (tests, benchmarks). A process that publishes
before anyone did gets `install_default()`, called once by engine.events.ensure_hooks(): it
installs *live* hooks, which at each event take scoring.yaml and stages.yaml of the model the
process runs (marketing/model.py: the live deployment of the store the event is published to,
else the folder on disk, NURTURE_JOURNEYS_DIR or ./journeys), skipping a file that is absent.
Scoring runs before stages so a threshold rule sees the points the same event earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from compiler import live_folder
from marketing.model import attach, cached, folder_for
from marketing.scoring import scoring_hook
from marketing.scoring_model import FILE_NAME as SCORING_FILE, ScoringModel, load_scoring
from marketing.stages import FILE_NAME as STAGES_FILE, StagesModel, load_stages, stages_hook

_HOOK_NAMES = ("scoring_hook", "stages_hook")
_installed = False
_scoring = cached(load_scoring)
_stages = cached(load_stages)


def journeys_dir() -> Path:
    """The folder of the model this process runs (live deployment, else disk)."""
    return live_folder.live() or live_folder.disk_folder()


def install_hooks(scoring: ScoringModel | None, stages: StagesModel | None) -> None:
    """Put the scoring and stage hooks into EVENT_HOOKS, replacing any installed before."""
    _install(([scoring_hook(scoring)] if scoring else [])
             + ([stages_hook(stages, score_events(scoring))] if stages else []))


def score_events(scoring: ScoringModel | None) -> frozenset[str]:
    """The event types scoring rules award points for (none without a scoring model)."""
    return frozenset(r.event for r in scoring.rules) if scoring else frozenset()


def _install(ours: list[Any]) -> None:
    global _installed
    from engine.events import EVENT_HOOKS

    EVENT_HOOKS[:] = [h for h in EVENT_HOOKS if getattr(h, "__name__", "") not in _HOOK_NAMES]
    EVENT_HOOKS[0:0] = ours  # first: rules that react to scores and stages run after them
    _installed = True


def load_models(folder: Path | None = None) -> tuple[ScoringModel | None, StagesModel | None]:
    """The models from `folder` (default journeys_dir()); None for an absent file. ConfigError if bad."""
    folder = folder or journeys_dir()
    return _scoring(folder / SCORING_FILE), _stages(folder / STAGES_FILE)


def _live(name: str, make: Callable[..., Any], pick: int, *, pair: bool = False) -> Any:
    """A hook that runs `make(model)`'s hook (`pair`: `make(model, other)`, the other of scoring
    and stages) with the models live for the event's store, built once per model version."""
    hooks: dict[tuple[int, int], Any] = {}

    def hook(store: Any, contact_id: int, event_type: str, data: dict[str, Any], event_id: int) -> list[Any]:
        models = load_models(folder_for(store))
        model, other = models[pick], models[1 - pick]
        if model is None:
            return []
        inner = hooks.get((id(model), id(other)))
        if inner is None:
            hooks.clear()  # one model in use at a time: the previous deployment's hook can go
            made = make(model, other) if pair else make(model)
            inner = hooks[(id(model), id(other))] = (made, model, other)
        return inner[0](store, contact_id, event_type, data, event_id)

    hook.__name__ = hook.__qualname__ = name
    return hook


def install_default() -> None:
    """Install the live hooks unless someone already installed hooks."""
    if not _installed:
        _install([_live("scoring_hook", scoring_hook, 0),
                  _live("stages_hook", lambda stages, scoring: stages_hook(stages, score_events(scoring)), 1, pair=True)])


def temperature_thresholds(folder: Path | None = None, *, store: Any = None) -> Any:
    """(warm, hot) of the global score from scoring.yaml, for profiles that journeys read.
    With `store`: a live value (LiveThresholds) that follows deployments."""
    if store is not None:
        attach(store)  # the process's other loaders (send windows, segments) follow it too
        return LiveThresholds(store)
    scoring = _scoring((folder or journeys_dir()) / SCORING_FILE)
    return scoring.thresholds if scoring else ScoringModel(rules=()).thresholds


class LiveThresholds(Sequence[int]):
    """(warm, hot) of the global score from the live scoring.yaml, read at each use: what
    activities.deps.Deps.temperature_thresholds holds in a worker, so a deployment changes it."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _now(self) -> tuple[int, int]:
        return temperature_thresholds(folder_for(self.store))

    def __getitem__(self, index: Any) -> Any:
        return self._now()[index]

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return repr(self._now())
