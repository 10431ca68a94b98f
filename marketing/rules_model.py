"""The automation rules' data: what `journeys/rules.yaml` says once parsed (Rule, Action, Rules)
and the two pure tests a rule answers (does this event match, does this score change cross).

Job: the types shared by marketing.rules (config), rules_actions (hook) and rules_effects
(enrol/notify/webhook). It imports none of them, so the three import in one direction:
rules -> rules_actions -> rules_effects, each of them -> rules_model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketing.matching import DataCondition

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "journeys"
RULES_JOURNEY = "rules"  # the journey_id of rule effects in the ledger and events


@dataclass(frozen=True)
class Action:
    kind: str  # tag | stage | score | enrol | notify | webhook
    args: Any  # the YAML value: {add, remove} / stage name / {add, level} / journey id / {...}
    index: int = 0  # position in the rule's `then`


@dataclass(frozen=True)
class Rule:
    id: str
    trigger: str  # event | score.crossed | segment.entered
    value: Any  # the event type, the threshold, or the segment id
    actions: tuple[Action, ...]
    where: tuple[DataCondition, ...] = ()
    condition: str | None = None
    level: str = "global"  # score.crossed: the score level watched ("stage" = any stage:NAME)
    direction: str = "up"  # score.crossed: up (below -> value or more) or down (value or more -> below)

    def matches_event(self, event_type: str, data: dict[str, Any]) -> bool:
        """Does this (non-score) rule's trigger and data test match the event?"""
        if self.trigger == "event":
            hit = self.value == event_type
        elif self.trigger == "segment.entered":
            hit = event_type == "segment.entered" and data.get("segment") == self.value
        else:
            return False
        return hit and all(c.holds(data) for c in self.where)

    def crossed(self, level: str, before: int, after: int) -> bool:
        """Does a change of the score at `level` from `before` to `after` cross this rule's threshold?"""
        if self.trigger != "score.crossed" or not (level == self.level or (self.level == "stage" and level.startswith("stage:"))):
            return False
        if self.direction == "down":
            return after < self.value <= before
        return before < self.value <= after


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...] = ()
    folder: Path = DEFAULT_DIR  # where templates/ and the journeys named by `enrol` live
    notes: dict[str, Any] = field(default_factory=dict)
