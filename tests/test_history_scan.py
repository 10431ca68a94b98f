"""The personal-data scan that every simulation runs over its histories at exit."""

from __future__ import annotations

import pytest

from compiler import ir
from engine.history_scan import PersonalData
from engine.simulation import Simulation, SimulationError
from tests.journey_builder import journey


def test_phones_match_in_any_formatting_and_names_as_whole_words() -> None:
    person = PersonalData()
    person.add(email="Ana@Example.com", phone="+34 600 111 222", names=("Ana", None, "Ruiz"))
    assert person.found_in('{"to": "ana@example.com"}') == ["ana", "ana@example.com"]  # the name is in it too
    assert person.found_in("call 600-111-222 now") == ["phone ...1222"]
    assert person.found_in("(+34) 600.111.222") == ["phone ...1222"]
    assert person.found_in("Dear ANA,") == ["ana"]
    assert person.found_in("analytics management of ruizes") == []  # not whole words
    assert person.found_in("contact 17, message <3f2a@nurture.local>") == []


async def test_a_simulation_refuses_to_end_quietly_when_a_name_reaches_a_history() -> None:
    leaky = journey(ir.Exit(id="bye", reason="bye-zenobia"))  # a reason naming the person
    with pytest.raises(SimulationError, match="zenobia"):
        async with Simulation() as sim:
            await sim.run(leaky, {"email": "z@example.com", "first_name": "Zenobia"})
    async with Simulation(strict_history=False) as sim:
        await sim.run(leaky, {"email": "z@example.com", "first_name": "Zenobia"})
    assert sim.history_findings and "zenobia" in sim.history_findings[0]
