"""Running automation rules: the EVENT_HOOK and the follow-ups it hands to engine.events.publish.

Job: deciding, per event, which rules fire and running their profile actions; what leaves the
process (enrol, notify, webhook) is done by marketing.rules_effects. Imported by marketing.rules
(which builds the Rules); imports rules_effects and rules_model, never marketing.rules.

Profile actions (tag, stage, score) run inside the hook, in the order written. Enrol, notify
and webhook become follow-ups that publish awaits with its Temporal client after every hook
(so scoring and stage hooks have already run). One more follow-up per event looks at the score
changes the rules have not seen yet (store.take_score_changes) and fires `score.crossed` rules.

Notify and webhook reuse the journey activities' code (activities.outbound): the same
rendering, tracked message building, SMTP delivery and exactly-once ledger, keyed by rule,
event and action. A failing action never breaks the publish: it is recorded as `rule.failed`.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable

from compiler.conditions import evaluate
from marketing.rules_effects import EFFECTS
from marketing.rules_model import RULES_JOURNEY, Action, Rule, Rules

log = logging.getLogger(__name__)
MAX_ROUNDS = 5  # score.crossed rules that add points may cross another threshold

FollowUp = Callable[..., Awaitable[list[str]]]


class RulesHook:
    """`hook(store, contact_id, event_type, data, event_id) -> [aspects changed and follow-ups]`."""

    def __init__(self, rules: Rules, deps: Any = None) -> None:
        self.rules = rules
        self._deps = deps

    def __call__(self, store: Any, contact_id: int, event_type: str, data: dict[str, Any], event_id: int) -> list[Any]:
        if event_type.startswith("rule."):
            return []  # our own audit events never trigger rules
        out: list[Any] = []
        for rule in self.rules.rules:
            if rule.matches_event(event_type, data):
                out.extend(self.fire(store, rule, contact_id, event_id))
        if any(r.trigger == "score.crossed" for r in self.rules.rules):
            out.append(self._crossings)
        return out

    def deps(self, store: Any) -> Any:
        if self._deps is None:
            from activities.deps import Deps

            self._deps = Deps.from_env(store=store)
        return self._deps

    # ------------------------------------------------------------ firing

    def fire(self, store: Any, rule: Rule, contact_id: int, event_id: int) -> list[Any]:
        """Check the rule's profile condition, run its profile actions now, return follow-ups.
        `event_id`: the event that fired it (for score.crossed, the one whose publish saw the crossing)."""
        if rule.condition and not evaluate(rule.condition, store.read_profile(contact_id)):
            return []
        store.record_event(contact_id, "rule.fired", journey_id=RULES_JOURNEY, step_id=rule.id,
                           data={"rule": rule.id, "trigger": rule.trigger, "event": event_id})
        out: list[Any] = []
        for action in rule.actions:
            if action.kind in EFFECTS:  # enrol, notify, webhook: after every hook, with a client
                out.append(functools.partial(self._follow_up, rule, action))
            else:
                out.extend(_profile_action(store, rule, action, contact_id))
        return out

    async def _crossings(self, client: Any, store: Any, contact_id: int, context: Any) -> list[str]:
        changed: list[str] = []
        if not store.has_score_changes(contact_id):  # the usual case: a read, not a write transaction
            return changed
        for _ in range(MAX_ROUNDS):
            fired = []
            for change in store.take_score_changes(contact_id, level=None):
                before = change.value - change.delta
                fired += [r for r in self.rules.rules if r.crossed(change.level, before, change.value)]
            if not fired:
                break
            for rule in fired:
                for item in self.fire(store, rule, contact_id, context.event_id):
                    changed += [item] if isinstance(item, str) else await item(client, store, contact_id, context)
        return changed

    async def _follow_up(self, rule: Rule, action: Action, client: Any, store: Any, contact_id: int, context: Any) -> list[str]:
        try:
            reason = await EFFECTS[action.kind](self, rule, action, client, store, contact_id, context)
        except Exception as exc:  # noqa: BLE001 - a rule's failure must not break the event path
            log.warning("rule %s action %s failed: %s", rule.id, action.kind, type(exc).__name__)
            reason = f"{type(exc).__name__}"
        if reason:
            store.record_event(contact_id, "rule.failed", journey_id=RULES_JOURNEY, step_id=rule.id,
                               data={"rule": rule.id, "action": action.kind, "reason": reason[:200]})
        return []


def _profile_action(store: Any, rule: Rule, action: Action, contact_id: int) -> list[str]:
    """Run tag / stage / score now; return the profile aspects changed."""
    reason = f"rule {rule.id}"
    if action.kind == "tag":
        if action.args.get("add"):
            store.add_tags(contact_id, action.args["add"])
        if action.args.get("remove"):
            store.remove_tags(contact_id, action.args["remove"])
        return ["tags"]
    if action.kind == "stage":
        previous = store.set_stage(contact_id, action.args, reason)
        return ["stage"] if previous != action.args else []
    if action.kind == "score":
        store.add_score(contact_id, action.args["add"], level=action.args.get("level", "global"), reason=reason)
        return ["score"]
    raise ValueError(f"unknown profile action {action.kind!r}")
