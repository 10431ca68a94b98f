"""No personal data in Temporal: every example journey (journeys/*.yaml) run for a contact with
an email, a phone and a name, and every history scanned for them in any format."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.history_scan import readable
from compiler.compile import compile_file
from compiler.config_files import split_files
from engine.simulation import SimEvent, Simulation

ROOT = Path(__file__).resolve().parent.parent
PERSON = {
    "email": "zephyrine.quillfeather@example.org",
    "phone": "+34611223344",
    "first_name": "Zephyrine",
    "last_name": "Quillfeather",
    "timezone": "Europe/Madrid",
    "score": 80,
    "stage": "lead",
    "consent": {"email": ["marketing", "newsletter", "product-updates", "profiling"],
                "sms": ["marketing", "product-updates", "profiling"]},  # no third-party: the example webhook URL is not served here
}
NEEDLES = ("zephyrine", "quillfeather", "zephyrine.quillfeather@example.org", "example.org",
           "+34611223344", "34611223344", "611223344", "611 22 33 44", "611 223 344", "611-223-344")
EVENTS = ["email.opened@{first}+1h", "email.clicked@{first}+2h"]


def journeys():
    files, _ = split_files([ROOT / "journeys"])
    return [compile_file(f) for f in files]


@pytest.mark.asyncio
async def test_no_personal_data_in_any_history():
    compiled = journeys()
    assert compiled and all(r.ok for r in compiled), [str(e) for r in compiled for e in r.errors]
    scanned = 0
    async with Simulation() as sim:
        for number, result in enumerate(compiled):
            j = result.journey
            sends = [s.id for s in j.steps if s.type in ("send_email", "send_sms")]
            events = [SimEvent.parse(e.format(first=sends[0])) for e in EVENTS] if sends else []
            person = dict(PERSON, external_id=f"crm-{number}")
            await sim.run(j, person, events)
            contact = sim.store.find_contact(external_id=f"crm-{number}")
            for enrolment in sim.store.export_contact(contact.id)["enrolments"]:
                handle = sim.env.client.get_workflow_handle(enrolment["workflow_id"])
                text = readable(await handle.fetch_history()).lower()
                assert "journeyworkflow" in text and "workflow_execution_completed" in text  # a real, complete history
                found = [n for n in NEEDLES if n.lower() in text]
                assert not found, f"{j.id}: {found} in the history of {enrolment['workflow_id']}"
                scanned += 1
        assert sim.smtp.messages or sim.sms.messages  # the runs did contact the person
    assert scanned >= len(compiled)
