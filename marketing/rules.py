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

Job: the configuration. Load and validate rules.yaml into marketing.rules_model types, and
install the hook. Imports go one way: rules -> rules_actions (the hook) -> rules_effects (what
leaves the process), each -> rules_model (the types); none of them imports this module.

Public API:
    load_rules(path) -> Rules                    (raises ConfigError)
    install(rules, deps=None) -> RulesHook       (replaces an installed rules hook)
    install_default()                            (journeys/rules.yaml, deps from the environment)
    validate_rules_file(path) -> [Diagnostic]    (registered for `cli.py validate`)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from compiler import conditions
from compiler.config_file import load_config, validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.templates import find_template
from compiler.yaml_loader import LoadedDoc
from marketing.matching import build_conditions
from marketing.model import cached
from marketing.rules_actions import RulesHook
from marketing.rules_model import DEFAULT_DIR, RULES_JOURNEY, Action, Rule, Rules

__all__ = ["FILE_NAME", "RULES_JOURNEY", "Action", "Rule", "Rules", "RulesHook", "build_rules", "install",
           "install_default", "load_rules", "validate_rules_file"]

FILE_NAME = "rules.yaml"
SCHEMA_NAME = "rules"


# ---------------------------------------------------------------- building from YAML


def _check_refs(doc: LoadedDoc, path: tuple[Any, ...], action: Action, folder: Path, problems: Problems) -> None:
    """Journeys, templates and segments named by the rules exist next to the file."""
    if action.kind == "enrol" and not (folder / f"{action.args}.yaml").is_file():
        journeys = [f.stem for f in folder.glob("*.yaml")]
        problems.add(doc.pos(path + ("enrol",)), f'enrol: no journey "{action.args}" in {folder}{conditions.did_you_mean(action.args, journeys)}')
    if action.kind == "notify":
        found = find_template(folder / "templates", action.args["template"], ("subject.txt", "txt"), ("html",))
        for message in found.missing[:1]:
            problems.add(doc.pos(path + ("notify", "template")), f"notify: {message}")


def _segment_exists(doc: LoadedDoc, path: tuple[Any, ...], segment_id: str, folder: Path, problems: Problems) -> None:
    from compiler.references import problem  # the same check (and did-you-mean) as a journey's entry segment

    message = problem("segment", segment_id, folder)
    if message:
        problems.add(doc.pos(path), f"segment.entered: {message}")


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


def rules_folder() -> Path:
    """The folder of the model this process runs: the live deployment's (compiler.live_folder),
    else $NURTURE_JOURNEYS_DIR, else the shipped journeys/."""
    from compiler.live_folder import live

    return live() or Path(os.environ.get("NURTURE_JOURNEYS_DIR") or DEFAULT_DIR)


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules of `path` (default: rules.yaml in rules_folder())."""
    return load_config(path or rules_folder() / FILE_NAME, SCHEMA_NAME, build_rules)


class LiveRulesHook(RulesHook):
    """The rules hook of `install_default`: at each event, the rules.yaml of the model live for
    the event's store (marketing/model.py; none when the folder has no rules.yaml)."""

    def __init__(self, deps: Any = None) -> None:
        super().__init__(Rules(), deps)

    def __call__(self, store: Any, *args: Any) -> list[Any]:
        from marketing.model import folder_for

        folder = folder_for(store)
        self.rules = _cached_rules(folder / FILE_NAME) or Rules(folder=folder)
        return super().__call__(store, *args)


def install(rules: Rules, deps: Any = None) -> Any:
    """Put a hook running `rules` at the end of EVENT_HOOKS (after scoring and stages), replacing
    an earlier rules hook. `deps` (activities.deps.Deps) configures SMTP, teams and webhooks;
    None: Deps.from_env() on first use."""
    from engine.events import EVENT_HOOKS  # where used: `validate` imports this module, needs no Temporal client

    hook = RulesHook(rules, deps)
    EVENT_HOOKS[:] = [h for h in EVENT_HOOKS if not isinstance(h, RulesHook)] + [hook]
    return hook


def install_default() -> None:
    """Install the live rules hook unless a rules hook is installed already."""
    from engine.events import EVENT_HOOKS

    if not any(isinstance(h, RulesHook) for h in EVENT_HOOKS):
        EVENT_HOOKS.append(LiveRulesHook())


def _load_rules_file(path: Path) -> Rules:
    return load_rules(path)


_cached_rules = cached(_load_rules_file)
