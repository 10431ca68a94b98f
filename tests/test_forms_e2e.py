"""End to end with the shipped journeys on the time-skipping server (engine.simulation): a person
submits the hosted form -> the double-opt-in confirmation arrives in the real SMTP sink -> they
follow its link (GET shows a button, POST confirms) -> the consent is confirmed and the welcome
series sends its first email. The runs' histories hold no personal data (the simulation scans them)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from compiler.compile import compile_file
from engine.simulation import Simulation
from tests.tracking_helpers import ROOT, http, make_app
from tracking.bots import BotRules

EMAIL = "lea@example.com"
JOURNEYS = ("double-opt-in", "welcome-series")


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def body_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


async def emails_to(sim: Simulation, count: int, *, skip_hours: int = 0, timeout: float = 20) -> list[EmailMessage]:
    """Wait for `count` messages to EMAIL; with `skip_hours`, let simulated time pass an hour at a
    time meanwhile (a send postponed by quiet hours then goes out in the morning)."""
    deadline = asyncio.get_running_loop().time() + timeout
    skipped = 0
    while True:
        found = [m for m in sim.smtp.messages if EMAIL in str(m["To"])]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        if skipped < skip_hours:
            await sim.env.sleep(timedelta(hours=1))
            skipped += 1
        await asyncio.sleep(0.05)


async def closed_result(sim: Simulation, workflow_id: str) -> dict:
    """The run's result once it has closed (awaiting result() on the time-skipping server while a
    run is parked sometimes fails with "No completion event found": docs/ARCHITECTURE.md)."""
    from temporalio.client import WorkflowExecutionStatus

    handle = sim.env.client.get_workflow_handle(workflow_id)
    for _ in range(600):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return await handle.result()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} never closed")


async def test_form_to_confirmation_email_to_confirm_link_to_welcome_series(sim):
    journeys = {j: compile_file(ROOT / "journeys" / f"{j}.yaml").journey for j in JOURNEYS}
    for journey in journeys.values():
        sim.store.save_journey_version(journey.id, journey.version, journey.to_dict())
    sim.person.add(email=EMAIL, phone=None, names=("Léa", None))  # the history scan looks for these
    app = make_app(sim.store, sim.env.client, journeys=journeys, task_queue=sim.task_queue,
                   bots=BotRules(after_send_s=0))
    async with http(app) as c:
        page = await c.get("/f/newsletter")
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        posted = await c.post("/f/newsletter", data={
            "email": EMAIL, "first_name": "Léa", "consent": ["marketing:email"], "locale": "en",
            "version:marketing:email": "2024-06-01", "token": token, "website": ""},
            headers={"user-agent": "Browser/3.0"})
        assert posted.status_code == 200
        contact = sim.store.find_contact(email=EMAIL)
        for journey_id in JOURNEYS:  # both entered on contact.subscribed
            enrolment = sim.store.last_enrolment(journey_id, contact.id)
            assert enrolment is not None, journey_id
            sim.started.append(enrolment.workflow_id)
        assert sim.store.consent_state(contact.id, "email", "marketing").status == "pending"

        confirmation = (await emails_to(sim, 1))[0]
        assert confirmation["Subject"] == "Please confirm your subscription to Northwind Notes"
        link = re.search(r"http://127\.0\.0\.1:8000(/confirm/[A-Za-z0-9_-]+)", body_text(confirmation)).group(1)
        shown = await c.get(link)
        assert shown.status_code == 200 and sim.store.consent_state(contact.id, "email", "marketing").status == "pending"
        confirmed = await c.post(link)
        assert confirmed.status_code == 200

    state = sim.store.consent_state(contact.id, "email", "marketing")
    assert (state.status, state.source) == ("confirmed", "double opt-in link")
    welcome = (await emails_to(sim, 2, skip_hours=14))[1]
    assert welcome["Subject"] == "Welcome to Northwind, Léa: here's what to expect"
    doi = sim.store.last_enrolment("double-opt-in", contact.id)
    result = await closed_result(sim, doi.workflow_id)
    assert (result["outcome"], result["reason"]) == ("exited", "confirmed")
    assert "opt-in-confirmed" in sim.store.get_contact(contact.id).tags
    proof = sim.store.consent_history(contact.id)[0]
    assert (proof.status, proof.source, proof.wording_version, proof.user_agent) == (
        "pending", "form:newsletter", "2024-06-01", "Browser/3.0")
