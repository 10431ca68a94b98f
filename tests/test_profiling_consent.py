"""Profiling purpose: a branch on behavioural data (score, temperature) under
`policy.consent.profiling` sees them only with profiling consent; each decision is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import ir
from compiler.compile import compile_file
from engine.simulation import Simulation
from tests.journey_builder import journey



CONSENT = (("email", "marketing"), ("profiling", "profiling"))


def hot_or_cold(consent=CONSENT) -> ir.Journey:
    return journey(
        ir.Branch(id="route", cases=(ir.Case(when="score >= 50 and temperature == 'hot'", next="hot"),), default="cold"),
        ir.SendEmail(id="hot", template="hot"),
        ir.SendEmail(id="cold", template="cold"),
        emails=["hot", "cold"],
        consent=consent,
    )


def person(address: str, **consent: list[str]) -> dict:
    return {"email": address, "first_name": "Ana", "score": 90, "consent": {"email": ["marketing"], **consent}}


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def _route(out) -> str:
    return [e.step for e in out.timeline if e.outcome == "sent"][0]


@pytest.mark.asyncio
async def test_without_profiling_consent_the_branch_sees_a_neutral_profile(sim):
    out = await sim.run(hot_or_cold(), person("noprof@example.com"))
    assert _route(out) == "cold"
    decisions = [d for d in _decisions(sim, "noprof@example.com") if d.purpose == "profiling"]
    assert decisions and not any(d.granted for d in decisions)
    assert decisions[0].channel == "profiling" and decisions[0].basis == "no profiling consent on record"
    assert {d.step_id for d in decisions} >= {"route"}


@pytest.mark.asyncio
async def test_with_profiling_consent_the_branch_sees_the_score(sim):
    out = await sim.run(hot_or_cold(), person("prof@example.com", sms=["profiling"]))
    assert _route(out) == "hot"
    decisions = [d for d in _decisions(sim, "prof@example.com") if d.purpose == "profiling"]
    assert decisions and all(d.granted for d in decisions) and decisions[0].consent_event_id is not None


@pytest.mark.asyncio
async def test_a_withdrawal_on_any_channel_wins(sim):
    cid = sim.create_contact(person("withdrew@example.com", sms=["profiling"], email=["marketing", "profiling"]))
    sim.store.record_consent(cid, "email", "profiling", "withdrawn", source="preference page")
    out = await sim.run(hot_or_cold(), cid)
    assert _route(out) == "cold"
    refused = [d for d in sim.store.consent_decisions(cid) if d.purpose == "profiling"]
    assert refused and refused[-1].basis == "profiling consent withdrawn"


@pytest.mark.asyncio
async def test_a_journey_without_a_profiling_purpose_reads_the_profile_as_before(sim):
    out = await sim.run(hot_or_cold(consent=(("email", "marketing"),)), person("plain@example.com"))
    assert _route(out) == "hot"
    assert not [d for d in _decisions(sim, "plain@example.com") if d.purpose == "profiling"]


def test_the_compiler_accepts_policy_consent_profiling(tmp_path: Path):
    src = tmp_path / "p.yaml"
    src.write_text(
        "journey: p\ntitle: P\nentry: {manual: true}\n"
        "policy:\n  consent: {email: marketing, profiling: profiling}\n"
        "steps:\n  - id: route\n    type: branch\n    cases:\n      - when: score >= 50\n        next: end\n    default: end\n"
    )
    result = compile_file(src)
    assert result.ok, result.errors
    assert result.journey.policy.purpose_for("profiling") == "profiling"


def _decisions(sim, email: str):
    for row in sim.store.contact_rows():
        if row["email"] == email:
            return sim.store.consent_decisions(row["id"])
    raise AssertionError(f"no contact {email}")
