"""Journey scenarios (`journeys/tests/*.yaml`): a journey's behaviour checked like code.

Each scenario gives a contact, events, and what must happen (the path of step ids,
the outcome, the email subjects, the SMS count, skip reasons); it runs on the real
workflow and activities through engine.simulation. Used by `cli.py test` and pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.config_file import check_config, load_config
from compiler.config_files import CONFIG_VALIDATORS, SCENARIOS
from compiler.diagnostics import Diagnostic, Problems
from compiler.yaml_loader import LoadedDoc
from engine.simulation import SimEvent, Simulation, SimulationResult

SCHEMA = "journey-test"


@dataclass(frozen=True)
class Scenario:
    file: str
    line: int
    journey: str
    name: str
    contact: dict[str, Any]
    events: tuple[str, ...]
    expect: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Outcome:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _build(path: Path) -> Any:
    def build(doc: LoadedDoc, problems: Problems) -> list[Scenario]:
        data = doc.data
        out = []
        for i, item in enumerate(data["scenarios"]):
            line = doc.pos(("scenarios", i))[0]
            for j, spec in enumerate(item.get("events", [])):
                try:
                    SimEvent.parse(spec)
                except ValueError as exc:
                    problems.add(doc.pos(("scenarios", i, "events", j)), str(exc))
            out.append(Scenario(str(path), line, data["journey"], item["name"], dict(item["contact"]),
                                tuple(item.get("events", [])), dict(item["expect"])))
        return out

    return build


def load_scenarios(path: str | Path) -> list[Scenario]:
    """The scenarios of one file; ConfigError (file:line:col) if it is malformed."""
    return load_config(path, SCHEMA, _build(Path(path)))


def validate_scenario_file(path: Path) -> list[Diagnostic]:
    return check_config(path, SCHEMA, _build(path))[1]


CONFIG_VALIDATORS[SCENARIOS] = validate_scenario_file


def check(scenario: Scenario, out: SimulationResult) -> list[str]:
    """What differs between the expectation and the run (empty when it passed)."""
    expect, failures = scenario.expect, []
    steps = [e.step for e in out.timeline]
    path = [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]  # one entry per visit
    actual = {
        "path": path,
        "outcome": out.result.outcome,
        "reason": out.result.reason,
        "emails": [str(m["Subject"]) for m in out.emails],
        "sms": len(out.sms),
        "skipped": {e.step: e.detail.get("reason", "") for e in out.timeline if e.outcome == "skipped"},
    }
    for key, wanted in expect.items():
        if actual[key] != wanted:
            failures.append(f"{key}: expected {wanted!r}, got {actual[key]!r}")
    for ev in out.undelivered_events:
        failures.append(f"event {ev.type}@{ev.step} never happened: step {ev.step} sent nothing")
    return failures


async def run_scenarios(scenarios: list[Scenario], journeys: dict[str, Any]) -> list[Outcome]:
    """Run every scenario on one simulation stack (one server, one worker)."""
    outcomes = []
    async with Simulation() as sim:
        for scenario in scenarios:
            journey = journeys.get(scenario.journey)
            if journey is None:
                outcomes.append(Outcome(scenario, [f'no journey "{scenario.journey}" in journeys/']))
                continue
            events = [SimEvent.parse(e) for e in scenario.events]
            out = await sim.run(journey, dict(scenario.contact), events)
            outcomes.append(Outcome(scenario, check(scenario, out)))
    return outcomes
