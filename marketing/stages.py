"""Lifecycle stages read from `journeys/stages.yaml` (schema `schemas/stages.schema.json`).

Stages are ordered; each has a funnel position (TOFU, MOFU, BOFU, POST). Rules move a contact
on an event (with optional `where` conditions on its data) or when a score level reaches a
threshold. Moves go forward only unless the rule says `allow_backward`; of the rules that match
one event, the one reaching the furthest stage wins (the first written, on a tie). Run after
scoring (marketing.hooks installs them in that order), so "score >= 50 -> mql" sees the
points the same event just earned.

Public API:
    load_stages(path) -> StagesModel                  (raises ConfigError)
    validate_stages_file(path) -> [Diagnostic]        (registered for `cli.py validate`)
    StagesModel.next_stage(current, event_type, data, scores) -> (stage, rule) | None
    stages_hook(model) -> EventHook
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc
from compiler.config_file import load_config, validate_with
from marketing.matching import DataCondition, build_conditions

FILE_NAME = "stages.yaml"
SCORE_CHANGED = "score.changed"  # engine.events.SCORE_CHANGED (not imported: `validate` needs no Temporal)
SCHEMA_NAME = "stages"


@dataclass(frozen=True)
class Stage:
    id: str
    funnel: str
    title: str = ""


@dataclass(frozen=True)
class StageRule:
    id: str
    to: str
    event: str | None = None
    where: tuple[DataCondition, ...] = ()
    score_level: str = "global"
    score_at_least: int | None = None
    from_stages: tuple[str, ...] = ()
    allow_backward: bool = False

    def matches(self, current: str | None, event_type: str, data: dict[str, Any], scores: dict[str, int]) -> bool:
        if self.from_stages and current not in self.from_stages:
            return False
        if self.event is not None:
            return self.event == event_type and all(c.holds(data) for c in self.where)
        return scores.get(self.score_level, 0) >= (self.score_at_least or 0)


@dataclass(frozen=True)
class StagesModel:
    stages: tuple[Stage, ...]
    rules: tuple[StageRule, ...]

    @cached_property
    def event_types(self) -> frozenset[str]:
        """The event types an event rule moves on (built once per model)."""
        return frozenset(r.event for r in self.rules if r.event is not None)

    @cached_property
    def has_score_rules(self) -> bool:
        return any(r.event is None for r in self.rules)

    def reacts_to(self, event_type: str, score_events: frozenset[str] | None = None) -> bool:
        """Whether an event of this type can move a contact: an event rule names it, or a score
        rule exists and the event may have changed a score (`score_events`: the types scoring
        rules award points for; None: unknown, any type may). `score.changed` always may."""
        if event_type in self.event_types:
            return True
        if not self.has_score_rules:
            return False
        return score_events is None or event_type in score_events or event_type == SCORE_CHANGED

    def position(self, stage: str | None) -> int:
        """0-based place in the order; -1 for no stage or one this file does not know."""
        return next((i for i, s in enumerate(self.stages) if s.id == stage), -1)

    def funnel(self, stage: str | None) -> str | None:
        i = self.position(stage)
        return self.stages[i].funnel if i >= 0 else None

    def next_stage(
        self, current: str | None, event_type: str, data: dict[str, Any], scores: dict[str, int]
    ) -> tuple[str, StageRule] | None:
        """Where the rules move a contact in `current` on this event, or None."""
        here = self.position(current)
        best: tuple[int, StageRule] | None = None
        for rule in self.rules:
            there = self.position(rule.to)
            if rule.to == current or (there < here and not rule.allow_backward):
                continue
            if rule.matches(current, event_type, data, scores) and (best is None or there > best[0]):
                best = (there, rule)
        return (best[1].to, best[1]) if best else None


def build_stages(doc: LoadedDoc, problems: Problems) -> StagesModel:
    data = doc.data
    stages, seen = [], set()
    for i, raw in enumerate(data["stages"]):
        if raw["id"] in seen:
            problems.add(doc.pos(("stages", i, "id")), f'stage "{raw["id"]}" is listed twice')
        seen.add(raw["id"])
        stages.append(Stage(raw["id"], raw["funnel"], raw.get("title", "")))
    rules, rule_ids = [], set()
    for i, raw in enumerate(data.get("rules") or ()):
        path = ("rules", i)
        if raw["id"] in rule_ids:
            problems.add(doc.pos(path + ("id",)), f'duplicate rule id "{raw["id"]}"')
        rule_ids.add(raw["id"])
        for key, names in (("to", [raw["to"]]), ("from", raw.get("from") or [])):
            for j, name in enumerate(names):
                if name not in seen:
                    where = path + (key,) if key == "to" else path + (key, j)
                    problems.add(doc.pos(where), f'unknown stage "{name}" (stages: {", ".join(s.id for s in stages)})')
        score = raw.get("score") or {}
        rules.append(StageRule(
            id=raw["id"], to=raw["to"], event=raw.get("event"),
            where=build_conditions(doc, path + ("where",), problems),
            score_level=score.get("level", "global"), score_at_least=score.get("at_least"),
            from_stages=tuple(raw.get("from") or ()), allow_backward=raw.get("allow_backward", False),
        ))
    return StagesModel(tuple(stages), tuple(rules))


def load_stages(path: str | Path) -> StagesModel:
    return load_config(path, SCHEMA_NAME, build_stages)


validate_stages_file = validate_with(SCHEMA_NAME, build_stages)
CONFIG_VALIDATORS[FILE_NAME] = validate_stages_file


def stages_hook(
    model: StagesModel, score_events: frozenset[str] | None = None
) -> Callable[[Any, int, str, dict[str, Any], int], list[str]]:
    """An engine.events hook: move the contact if a rule says so; ["stage"] when it moved.
    An event no rule can react to (StagesModel.reacts_to) returns before reading the store."""

    def hook(store: Any, contact_id: int, event_type: str, data: dict[str, Any], event_id: int) -> list[str]:
        if not model.reacts_to(event_type, score_events):
            return []
        contact = store.get_contact(contact_id)
        if contact is None or contact.erased_at is not None:
            return []
        move = model.next_stage(contact.stage, event_type, data, store.get_scores(contact_id))
        if move is None:
            return []
        stage, rule = move
        store.set_stage(contact_id, stage, reason=f"rule {rule.id}: {event_type}")
        return ["stage"]

    hook.__name__ = hook.__qualname__ = "stages_hook"
    return hook
