"""Automation rules (`journeys/rules.yaml`, schema `schemas/rules.schema.json`):
"when EVENT [where DATA] [if PROFILE CONDITION] then ACTIONS".

Triggers: `event: TYPE`, `score.crossed: N` (the global score goes from below N to N or
more; `{value: N, level: stage:mql, direction: down}` watches another level, or a fall below N),
`segment.entered: ID` (the `segment.entered` event a segment sweep publishes).
Actions: tag add/remove, stage, score add, enrol, notify (internal email), webhook.
Behavioural tagging ("visited /pricing -> tag") is a rule with a `tag` action.

Installed as an engine.events EVENT_HOOK: profile actions run inside the hook; enrol, notify
and webhook are returned as follow-ups that engine.events.publish awaits with its Temporal
client (marketing/rules_actions.py). Each firing is recorded as a `rule.fired` event.

Public API:
    load_rules(path) -> Rules                    (raises ConfigError)
    install(rules, deps=None) -> RulesHook       (replaces an installed rules hook)
    install_default()                            (journeys/rules.yaml, deps from the environment)
    validate_rules_file(path) -> [Diagnostic]    (registered for `cli.py validate`)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler import conditions
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc
from compiler.config_file import load_config, validate_with
from marketing.matching import DataCondition, build_conditions

FILE_NAME = "rules.yaml"
SCHEMA_NAME = "rules"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "journeys"
ASYNC_ACTIONS = ("enrol", "notify", "webhook")
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


# ---------------------------------------------------------------- building from YAML


def _check_refs(doc: LoadedDoc, path: tuple[Any, ...], action: Action, folder: Path, problems: Problems) -> None:
    """Journeys, templates and segments named by the rules exist next to the file."""
    from compiler.templates import find_template

    if action.kind == "enrol" and not (folder / f"{action.args}.yaml").is_file():
        problems.add(doc.pos(path + ("enrol",)), f'enrol: no journey "{action.args}" in {folder}')
    if action.kind == "notify":
        found = find_template(folder / "templates", action.args["template"], ("subject.txt", "txt"), ("html",))
        for message in found.missing[:1]:
            problems.add(doc.pos(path + ("notify", "template")), f"notify: {message}")


def _segment_exists(doc: LoadedDoc, path: tuple[Any, ...], segment_id: str, folder: Path, problems: Problems) -> None:
    from compiler.config_file import ConfigError
    from marketing.segments import load_segments

    try:
        known = load_segments(folder / "segments.yaml")
    except (ConfigError, OSError):
        known = {}
    if segment_id not in known:
        problems.add(doc.pos(path), f'segment.entered: no segment "{segment_id}" in {folder / "segments.yaml"}')


def _build_rule(doc: LoadedDoc, i: int, raw: dict[str, Any], folder: Path, problems: Problems) -> Rule:
    path = ("rules", i)
    trigger, value = next(iter(raw["when"].items()))
    if trigger == "segment.entered":
        _segment_exists(doc, path + ("when", trigger), value, folder, problems)
    if trigger == "score.crossed" and raw.get("where"):
        problems.add(doc.key_pos(path + ("where",)), "where: tests event data; a score.crossed rule has no event data")
    condition = raw.get("if")
    if condition is not None:
        for err in conditions.check(condition):
            problems.add(doc.pos_in(path + ("if",), err.col), err.message)
    actions = []
    for j, item in enumerate(raw["then"]):
        kind, args = next(iter(item.items()))
        action = Action(kind, args, j)
        _check_refs(doc, path + ("then", j), action, folder, problems)
        actions.append(action)
    where = build_conditions(doc, path + ("where",), problems)
    threshold = value if trigger == "score.crossed" and isinstance(value, dict) else {}
    if threshold:
        value = threshold["value"]
    return Rule(raw["id"], trigger, value, tuple(actions), where, condition,
                level=threshold.get("level", "global"), direction=threshold.get("direction", "up"))


def build_rules(doc: LoadedDoc, problems: Problems, folder: Path | None = None) -> Rules:
    folder = folder or Path(problems.path).resolve().parent
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(doc.data.get("rules", [])):
        if raw["id"] in seen:
            problems.add(doc.pos(("rules", i, "id")), f'rule "{raw["id"]}" is defined twice')
        seen.add(raw["id"])
        out.append(_build_rule(doc, i, raw, folder, problems))
    return Rules(tuple(out), folder)


validate_rules_file = validate_with(SCHEMA_NAME, build_rules)
CONFIG_VALIDATORS[FILE_NAME] = validate_rules_file


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules of `path` (default: $NURTURE_JOURNEYS_DIR/rules.yaml, else journeys/rules.yaml)."""
    folder = Path(os.environ.get("NURTURE_JOURNEYS_DIR") or DEFAULT_DIR)
    return load_config(path or folder / FILE_NAME, SCHEMA_NAME, build_rules)


def install(rules: Rules, deps: Any = None) -> Any:
    """Put a hook running `rules` at the end of EVENT_HOOKS (after scoring and stages), replacing
    an earlier rules hook. `deps` (activities.deps.Deps) configures SMTP, teams and webhooks;
    None: Deps.from_env() on first use."""
    from engine.events import EVENT_HOOKS
    from marketing.rules_actions import RulesHook

    hook = RulesHook(rules, deps)
    EVENT_HOOKS[:] = [h for h in EVENT_HOOKS if not isinstance(h, RulesHook)] + [hook]
    return hook


def install_default() -> None:
    """Install journeys/rules.yaml (if present) unless a rules hook is installed already."""
    from engine.events import EVENT_HOOKS
    from marketing.rules_actions import RulesHook

    folder = Path(os.environ.get("NURTURE_JOURNEYS_DIR") or DEFAULT_DIR)
    if not any(isinstance(h, RulesHook) for h in EVENT_HOOKS) and (folder / FILE_NAME).is_file():
        install(load_rules(folder / FILE_NAME))
