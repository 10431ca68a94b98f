"""The lead scoring model read from `journeys/scoring.yaml` (schema `schemas/scoring.schema.json`).

Public API:
    load_scoring(path=None) -> ScoringModel      (raises ConfigError; default journeys/scoring.yaml)
    validate_scoring_file(path) -> [Diagnostic]  (registered for `cli.py validate`)
    ScoringModel.temperature(level, points) -> "cold" | "warm" | "hot"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.durations import parse_duration
from compiler.yaml_loader import LoadedDoc
from compiler.config_file import load_config, validate_with
from marketing.matching import DataCondition, build_conditions
from store.profile import temperature

FILE_NAME = "scoring.yaml"
SCHEMA_NAME = "scoring"
DEFAULT_THRESHOLDS = (40, 70)
STAGE_LEVEL = "stage"  # in a rule's levels: the contact's stage when the event arrives


@dataclass(frozen=True)
class Cap:
    points: int
    per_s: int


@dataclass(frozen=True)
class Decay:
    after_s: int
    factor: float
    text: str  # as written, for the history's explanation


@dataclass(frozen=True)
class ScoreRule:
    id: str
    event: str
    points: int
    levels: tuple[str, ...] = ("global",)
    where: tuple[DataCondition, ...] = ()
    cap: Cap | None = None

    def matches(self, data: dict[str, Any]) -> bool:
        return all(c.holds(data) for c in self.where)


@dataclass(frozen=True)
class ScoringModel:
    rules: tuple[ScoreRule, ...]
    decay: Decay | None = None
    thresholds: tuple[int, int] = DEFAULT_THRESHOLDS
    level_thresholds: dict[str, tuple[int, int]] = field(default_factory=dict)
    ignore_likely_bots: bool = True

    def rules_for(self, event_type: str) -> list[ScoreRule]:
        return [r for r in self.rules if r.event == event_type]

    def temperature(self, level: str, points: int) -> str:
        """Cold / warm / hot of `points` at `level` (stage:NAME levels may be set as "stage")."""
        limits = self.level_thresholds.get(level) or self.level_thresholds.get(level.split(":")[0]) or self.thresholds
        return temperature(points, limits)


def _thresholds(doc: LoadedDoc, raw: dict[str, int], path: tuple[Any, ...], problems: Problems) -> tuple[int, int]:
    if raw["warm"] > raw["hot"]:
        problems.add(doc.pos(path + ("warm",)), f"warm ({raw['warm']}) must not be above hot ({raw['hot']})")
    return raw["warm"], raw["hot"]


def _rule(doc: LoadedDoc, raw: dict[str, Any], path: tuple[Any, ...], problems: Problems) -> ScoreRule:
    cap = raw.get("cap")
    return ScoreRule(
        id=raw["id"],
        event=raw["event"],
        points=raw["points"],
        levels=tuple(raw.get("levels") or ("global",)),
        where=build_conditions(doc, path + ("where",), problems),
        cap=Cap(cap["points"], parse_duration(cap["per"])) if cap else None,
    )


def build_scoring(doc: LoadedDoc, problems: Problems) -> ScoringModel:
    """The model from a schema-valid document; semantic problems go to `problems`."""
    data = doc.data
    rules = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["rules"]):
        if raw["id"] in seen:
            problems.add(doc.pos(("rules", i, "id")), f'duplicate rule id "{raw["id"]}" (first is rule {seen[raw["id"]] + 1})')
        seen.setdefault(raw["id"], i)
        rules.append(_rule(doc, raw, ("rules", i), problems))
    temp = data.get("temperature") or {}
    levels = {name: _thresholds(doc, t, ("temperature", "levels", name), problems) for name, t in (temp.get("levels") or {}).items()}
    default = _thresholds(doc, temp["default"], ("temperature", "default"), problems) if "default" in temp else DEFAULT_THRESHOLDS
    decay = data.get("decay")
    return ScoringModel(
        rules=tuple(rules),
        decay=Decay(parse_duration(decay["after"]), float(decay["factor"]), decay["after"]) if decay else None,
        thresholds=default,
        level_thresholds=levels,
        ignore_likely_bots=data.get("ignore_likely_bots", True),
    )


def load_scoring(path: str | Path) -> ScoringModel:
    return load_config(path, SCHEMA_NAME, build_scoring)


validate_scoring_file = validate_with(SCHEMA_NAME, build_scoring)
CONFIG_VALIDATORS[FILE_NAME] = validate_scoring_file
