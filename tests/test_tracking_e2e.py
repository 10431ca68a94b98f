"""End to end on the time-skipping server (engine.simulation): the tracked link in the real
email in the SMTP sink, fetched over HTTP from the tracking app, moves a waiting run down its
clicked branch; a one-click unsubscribe POST makes the next send skip with no_consent."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from email.message import EmailMessage

import pytest

from compiler import ir
from engine.simulation import Simulation
from tests.journey_builder import journey
from tests.tracking_helpers import http, make_app
from tracking.bots import BotRules
from workflows.run_types import QUERY_STATE

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def app_for(sim: Simulation):
    # The simulation's clock runs in real time between steps: a click follows the send within
    # milliseconds here, which the default rules would (rightly) call a bot.
    return make_app(sim.store, sim.env.client, bots=BotRules(after_send_s=0), task_queue=sim.task_queue)


async def email_to(sim: Simulation, address: str, count: int = 1, timeout: float = 15) -> list[EmailMessage]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [m for m in sim.smtp.messages if address in str(m["To"])]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.02)


async def waiting(handle) -> None:
    for _ in range(500):
        if (await handle.query(QUERY_STATE)).get("waiting"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the run never started waiting")


async def finish(sim: Simulation, handle, days: int = 4):
    """Let simulated time pass, then the run's result. (Awaiting result() alone right after a
    signal that restarts a timer sometimes ends with "No completion event found" on the
    time-skipping server.)"""
    await sim.env.sleep(timedelta(days=days))
    return await asyncio.wait_for(handle.result(), 30)


def click_links(message: EmailMessage) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return re.findall(r'href="(http://127\.0\.0\.1:8000/c/[^"]+)"', html)


def contact(sim: Simulation, name: str) -> int:
    return sim.create_contact({"email": f"{name}@example.com", "first_name": name.title(),
                               "consent": {"email": ["marketing"]}})


async def test_clicking_the_tracked_link_in_the_real_email_moves_the_run(sim):
    j = journey(
        ir.SendEmail(id="welcome", template="welcome"),
        ir.WaitFor(id="engage", events=(ir.EventCase(event="email.clicked", of="welcome", next="clicked"),),
                   timeout_s=3 * 86400, on_timeout="nudge"),
        ir.Exit(id="clicked", reason="clicked"),
        ir.SendEmail(id="nudge", template="nudge"),
        emails=["welcome", "nudge"],
    )
    cid = contact(sim, "clicker")
    handle = await sim.start(j, cid)
    [mail] = await email_to(sim, "clicker@example.com")
    await waiting(handle)
    links = click_links(mail)
    assert links, "the email has tracked links"
    async with http(app_for(sim)) as c:
        r = await c.get(links[0])
    assert r.status_code == 302 and r.headers["location"] == "https://example.com/welcome?utm=1"
    result = await finish(sim, handle)
    assert result.outcome == "exited" and result.reason == "clicked"
    assert [t["step"] for t in result.trail] == ["welcome", "engage", "clicked"]
    assert len(await email_to(sim, "clicker@example.com", count=2, timeout=0.2)) == 1  # no nudge


async def test_one_click_unsubscribe_skips_the_next_send(sim):
    j = journey(
        ir.SendEmail(id="first", template="first"),
        ir.Wait(id="pause", duration_s=86400),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"],
    )
    cid = contact(sim, "leaver")
    handle = await sim.start(j, cid)
    [mail] = await email_to(sim, "leaver@example.com")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.search(r"<(http[^>]+/u/[^>]+)>", mail["List-Unsubscribe"]).group(1)
    async with http(app_for(sim)) as c:
        r = await c.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "location" not in r.headers
    result = await finish(sim, handle)
    second = [t for t in result.trail if t["step"] == "second"]
    assert second and second[0]["outcome"] == "skipped" and second[0]["reason"] == "no_consent"
    assert len(await email_to(sim, "leaver@example.com", count=2, timeout=0.2)) == 1
    assert [e.type for e in sim.store.events_for(cid)].count("email.unsubscribed") == 1
