"""The journey scenarios in journeys/tests/ run as part of the test suite, one test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.journey_arg import load_journey
from engine.scenarios import Scenario, load_scenarios, run_scenarios

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = [s for f in sorted((ROOT / "journeys" / "tests").glob("*.yaml")) for s in load_scenarios(f)]


@pytest.fixture(scope="module")
async def outcomes():
    journeys = {j: load_journey(j, ROOT / "journeys") for j in sorted({s.journey for s in SCENARIOS})}
    return {(o.scenario.where, o.scenario.name): o for o in await run_scenarios(SCENARIOS, journeys)}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.journey}: {s.name}" for s in SCENARIOS])
async def test_scenario(scenario: Scenario, outcomes) -> None:
    outcome = outcomes[(scenario.where, scenario.name)]
    assert outcome.ok, "\n".join(f"{scenario.where}: {f}" for f in outcome.failures)


def test_every_branch_of_trial_to_paid_is_covered() -> None:
    journey = load_journey("trial-to-paid", ROOT / "journeys")
    covered = {step for s in SCENARIOS if s.journey == "trial-to-paid" for step in s.expect.get("path", [])}
    assert {s.id for s in journey.steps} <= covered
