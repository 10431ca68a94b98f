"""Record the histories that tests/test_replay.py replays.

    python -m tests.histories.record            # re-record every case below
    python -m tests.histories.record trial-to-paid--clicked-sales

Each case compiles an example journey (journeys/*.yaml), runs one contact through it with
engine.simulation.Simulation (the real workflow and activities on the time-skipping server)
and saves the run's full history as JSON (`<journey>--<case>.json`, the same JSON that
`temporal workflow show --output json` prints). Re-record only on purpose: a history kept
here stands for runs already in flight, which the workflow code must keep replaying.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from compiler.compile import compile_file
from engine.simulation import SimEvent, Simulation
from workflows.run_types import workflow_id_for

HERE = Path(__file__).resolve().parent
JOURNEYS = HERE.parent.parent / "journeys"


@dataclass(frozen=True)
class Case:
    journey: str
    name: str
    contact: dict[str, Any]
    events: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> Path:
        return HERE / f"{self.journey}--{self.name}.json"


def person(n: str, **extra: Any) -> dict[str, Any]:
    """A contact with email and SMS marketing consent (fake, example.com data)."""
    base = {"email": f"{n}@example.com", "phone": "+34600111222", "first_name": n.title(), "timezone": "Europe/Madrid",
            "consent": {"email": ["marketing"], "sms": ["marketing"]}}
    return {**base, **extra}


CASES = [
    # trial-to-paid: a click continues through the wait_for into the score branch (each case)
    Case("trial-to-paid", "clicked-sales", person("sal", stage="mql", score=60),
         ("email.clicked@welcome+1h",)),
    Case("trial-to-paid", "clicked-webinar", person("web", tags=["webinar"],
         attributes={"plan": "team", "webinar_at": "+10d"}), ("email.clicked@welcome+2h",)),
    Case("trial-to-paid", "opened-case-study", person("ope"), ("email.opened@welcome+3h",)),
    Case("trial-to-paid", "timeout-sms", person("tim")),
    # welcome-series: consent branch straight in; and a confirmation through the wait_for
    Case("welcome-series", "consented", person("wel")),
    Case("welcome-series", "spanish", person("esp", locale="es")),
    # run revision 2 (workflows/run_types.REVISION): no profile read before a wait, and the last
    # send records the run's completion itself (no record_outcome)
    Case("welcome-series", "completed-by-last-send", person("qvo")),
    Case("welcome-series", "confirmed-later", person("con", consent={}), ("consent.confirmed+1d",)),
    Case("cart-abandonment", "purchased", person("car"), ("purchase.completed+3h",)),
    Case("cart-abandonment", "lost", person("los")),
    Case("double-opt-in", "confirmed", person("dou", consent={}), ("consent.confirmed+2h",)),
    Case("re-engagement", "no-click", person("ree")),
    Case("resend-to-non-clickers", "opened-no-click", person("res"), ("email.opened@announce+1h",)),
    Case("cube-nurture", "default", person("cub")),
    Case("webinar", "default", person("wbn", attributes={"webinar_at": "+10d"})),
    Case("sales-handoff", "default", person("han", stage="mql", score=80)),
]


async def relative_dates(sim: Simulation, contact: dict[str, Any]) -> dict[str, Any]:
    """Attributes written "+Nd" become that many days after the simulated now."""
    now = await sim.env.get_current_time()
    attrs = {k: (now + timedelta(days=int(v[1:-1]))).isoformat() if isinstance(v, str) and v.startswith("+") else v
             for k, v in (contact.get("attributes") or {}).items()}
    return {**contact, "attributes": attrs}


async def record(cases: list[Case]) -> list[Path]:
    written = []
    async with Simulation() as sim:
        for case in cases:
            compiled = compile_file(JOURNEYS / f"{case.journey}.yaml")
            if compiled.journey is None:
                raise SystemExit(f"{case.journey}: does not compile: {compiled.errors[0]}")
            journey = compiled.journey
            contact_id = sim.create_contact(await relative_dates(sim, case.contact))
            out = await sim.run(journey, contact_id, [SimEvent.parse(e) for e in case.events])
            handle = sim.env.client.get_workflow_handle(workflow_id_for(journey.id, contact_id))
            history = await handle.fetch_history()
            case.file.write_text(history.to_json() + "\n")
            steps = " > ".join(e.step for e in out.timeline)
            print(f"{case.file.name}: {out.result.outcome} ({out.result.reason}); {steps}")
            written.append(case.file)
    return written


def main(argv: list[str]) -> int:
    chosen = [c for c in CASES if not argv or f"{c.journey}--{c.name}" in argv]
    if not chosen:
        print(f"no such case; cases: {', '.join(c.file.stem for c in CASES)}", file=sys.stderr)
        return 2
    asyncio.run(record(chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
