"""Lead scoring: events -> points, as they arrive and again from the event log.

One pure core serves both paths, so `cli.py scores rebuild` gives what live application gave:
`ScoreState` is derived from a contact's score history (in write order) and `score_event`
returns the rows an event adds (decay catch-up first, then each matching rule's points,
capped per rolling period). Reasons are structured so the history explains itself:

    rule pricing-visit: page.visited (event 812)         (delta +10 at level global)
    decay x0.5 after 30d without activity                 (written at the boundary time)

Decay is applied lazily: before an event's points (catching up every full period since the
last activity, i.e. the last event that earned points), and by `cli.py scores decay` for
contacts who went quiet. Decay rows carry the boundary time, not the time they were written,
so running the command early, late or never changes nothing but when the values drop.

Public API:
    scoring_hook(model) -> EventHook                   (installed by marketing.hooks)
    rebuild(store, model, contact_id) -> list[ScoreRow]
    decay(store, model, contact_id, now) -> list[ScoreRow]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from marketing.scoring_model import STAGE_LEVEL, ScoreRule, ScoringModel
from store.records import Event, ScoreChange, StageChange
from store.score_log import ScoreRow

_RULE = re.compile(r"^rule (?P<rule>[a-z0-9][a-z0-9-]*): \S+ \(event (?P<event>\d+)\)$")
DECAY_PREFIX = "decay "


def rule_reason(rule: ScoreRule, event: Event) -> str:
    return f"rule {rule.id}: {event.type} (event {event.id})"


@dataclass
class ScoreState:
    """What scoring needs to know about a contact, derived from its score history."""

    values: dict[str, int] = field(default_factory=dict)
    awards: list[tuple[str, str, datetime, int]] = field(default_factory=list)  # (rule, level, at, delta)
    last_activity: datetime | None = None
    decays_since_activity: int = 0
    scored_events: set[int] = field(default_factory=set)
    added: list[ScoreRow] = field(default_factory=list)
    _decay_times: set[datetime] = field(default_factory=set)  # distinct decay boundaries since then

    @classmethod
    def from_history(cls, history: list[ScoreChange]) -> "ScoreState":
        state = cls()
        for row in history:
            state._note(row.level, row.delta, row.value, row.reason, row.at)
        return state

    def _note(self, level: str, delta: int, value: int, reason: str, at: datetime) -> None:
        self.values[level] = value
        m = _RULE.match(reason)
        if m:
            self.awards.append((m["rule"], level, at, delta))
            self.scored_events.add(int(m["event"]))
            if delta > 0 and (self.last_activity is None or at >= self.last_activity):
                self.last_activity, self.decays_since_activity = at, 0
                self._decay_times.clear()
        elif reason.startswith(DECAY_PREFIX) and self.last_activity is not None and at > self.last_activity:
            if at not in self._decay_times:
                self._decay_times.add(at)
                self.decays_since_activity += 1

    def add(self, level: str, delta: int, reason: str, at: datetime) -> None:
        value = self.values.get(level, 0) + delta
        self.added.append(ScoreRow(level, delta, value, reason, at))
        self._note(level, delta, value, reason, at)

    def awarded(self, rule_id: str, since: datetime, until: datetime) -> int:
        """Points `rule_id` gave in (since, until]: the most at any one level."""
        per_level: dict[str, int] = {}
        for rule, level, at, delta in self.awards:
            if rule == rule_id and since < at <= until:
                per_level[level] = per_level.get(level, 0) + delta
        return max(per_level.values(), default=0)


def catch_up_decay(model: ScoringModel, state: ScoreState, until: datetime) -> None:
    """Apply every decay period that ended by `until` since the last activity."""
    decay = model.decay
    if decay is None or state.last_activity is None:
        return
    period = timedelta(seconds=decay.after_s)
    reason = f"{DECAY_PREFIX}x{decay.factor:g} after {decay.text} without activity"
    periods = state.decays_since_activity + 1
    while (boundary := state.last_activity + period * periods) <= until:
        for level, value in sorted(state.values.items()):
            decayed = int(value * decay.factor)
            if decayed != value:
                state.add(level, decayed - value, reason, boundary)
        periods += 1


def _points(rule: ScoreRule, state: ScoreState, at: datetime) -> int:
    if rule.cap is None or rule.points < 0:
        return rule.points
    room = rule.cap.points - state.awarded(rule.id, at - timedelta(seconds=rule.cap.per_s), at)
    return max(0, min(rule.points, room))


def _levels(rule: ScoreRule, stage: str | None) -> list[str]:
    out = []
    for level in rule.levels:
        if level == STAGE_LEVEL:
            if stage:
                out.append(f"stage:{stage}")
        else:
            out.append(level)
    return out


def score_event(model: ScoringModel, state: ScoreState, event: Event, stage: str | None) -> None:
    """Add to `state` the rows `event` earns (nothing if it was scored before)."""
    rules = model.rules_for(event.type)
    if not rules or event.id in state.scored_events:
        return
    if model.ignore_likely_bots and event.data.get("likely_bot"):
        return
    catch_up_decay(model, state, event.at)
    for rule in rules:
        if not rule.matches(event.data):
            continue
        points = _points(rule, state, event.at)
        if points:
            for level in _levels(rule, stage):
                state.add(level, points, rule_reason(rule, event), event.at)


# ---------------------------------------------------------------- live, rebuild, decay


def scoring_hook(model: ScoringModel) -> Callable[[Any, int, str, dict[str, Any], int], list[str]]:
    """An engine.events hook: score the event `publish` just stored."""

    def hook(store: Any, contact_id: int, event_type: str, data: dict[str, Any], event_id: int) -> list[str]:
        if not model.rules_for(event_type):
            return []
        event = store.get_event(event_id)
        if event is None or event.contact_id != contact_id:
            return []

        def compute(history: list[ScoreChange], stage: str | None) -> list[ScoreRow]:
            state = ScoreState.from_history(history)
            score_event(model, state, event, stage)
            return state.added

        return ["score"] if store.score_update(contact_id, compute) else []

    hook.__name__ = hook.__qualname__ = "scoring_hook"
    return hook


def stage_at(changes: list[StageChange], at: datetime) -> str | None:
    """The stage the contact was in at `at`, from its stage history."""
    stage = None
    for change in changes:
        if change.at > at:
            break
        stage = change.to_stage
    return stage


def replay(model: ScoringModel, history: list[ScoreChange], events: list[Event], stages: list[StageChange]) -> list[ScoreRow]:
    """The contact's score history as live application would have written it.

    Rows that rules and decay did not write (journey `set` steps, manual changes) are kept
    and replayed at their times; decay is caught up to the last decay the history had.
    """
    manual = [r for r in history if not _RULE.match(r.reason) and not r.reason.startswith(DECAY_PREFIX)]
    stream: list[tuple[datetime, int, int, Any]] = [(e.at, 0, e.id, e) for e in events]
    stream += [(r.at, 1, r.id, r) for r in manual]
    state = ScoreState()
    for _at, kind, _id, item in sorted(stream, key=lambda s: s[:3]):
        if kind == 0:
            score_event(model, state, item, stage_at(stages, item.at))
        else:
            state.add(item.level, item.delta, item.reason, item.at)
    decayed_until = max((r.at for r in history if r.reason.startswith(DECAY_PREFIX)), default=None)
    if decayed_until is not None:
        catch_up_decay(model, state, decayed_until)
    return state.added


def rebuild(store: Any, model: ScoringModel, contact_id: int) -> list[ScoreRow]:
    """Recompute the contact's scores from its event log (see `replay`)."""
    return store.score_rebuild(contact_id, lambda history, events, stages: replay(model, history, events, stages))


def decay(store: Any, model: ScoringModel, contact_id: int, now: datetime) -> list[ScoreRow]:
    """Apply the decay periods that ended by `now`; the rows written (none when nothing is due)."""

    def compute(history: list[ScoreChange], _stage: str | None) -> list[ScoreRow]:
        state = ScoreState.from_history(history)
        catch_up_decay(model, state, now)
        return state.added

    return store.score_update(contact_id, compute)
