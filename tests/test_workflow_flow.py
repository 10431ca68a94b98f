"""Every step type and policy of the interpreter, on the time-skipping server."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compiler import ir
from engine.simulation import SimEvent, Simulation
from tests.journey_builder import journey
from workflows.steps.flow import bucket

pytestmark = pytest.mark.asyncio

BASE = {"email": "flow@example.com", "first_name": "Flo", "consent": {"email": ["marketing"]}}


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def contact(n: str, **extra) -> dict:
    return {**BASE, "email": f"{n}@example.com", **extra}


def engagement_journey() -> ir.Journey:
    return journey(
        ir.SendEmail(id="welcome", template="welcome"),
        ir.WaitFor(
            id="engage",
            events=(
                ir.EventCase(event="email.clicked", of="welcome", next="clicked"),
                ir.EventCase(event="email.opened", of="welcome", next="opened"),
            ),
            timeout_s=3 * 86400,
            on_timeout="nudge",
        ),
        ir.Exit(id="clicked", reason="clicked"),
        ir.Exit(id="opened", reason="opened"),
        ir.SendEmail(id="nudge", template="nudge"),
        emails=["welcome", "nudge"],
    )


async def test_wait_duration_is_a_durable_timer(sim):
    j = journey(ir.Wait(id="pause", duration_s=5 * 86400), ir.SendEmail(id="after", template="after"), emails=["after"])
    out = await sim.run(j, contact("wait"))
    sent = [e for e in out.timeline if e.step == "after"][0]
    assert 5 * 86400 <= sent.at_s < 5 * 86400 + 60


async def test_wait_for_click_takes_the_clicked_branch(sim):
    out = await sim.run(engagement_journey(), contact("clicker"), [SimEvent.parse("email.clicked@welcome+1h")])
    assert out.result.reason == "clicked"
    engage = [e for e in out.timeline if e.step == "engage"][0]
    assert engage.detail["event"] == "email.clicked" and 3600 <= engage.at_s < 3700


async def test_wait_for_first_matching_event_wins(sim):
    events = [SimEvent.parse("email.opened@welcome+10m"), SimEvent.parse("email.clicked@welcome+2h")]
    out = await sim.run(engagement_journey(), contact("opener"), events)
    assert out.result.reason == "opened"


async def test_wait_for_timeout_goes_to_on_timeout(sim):
    out = await sim.run(engagement_journey(), contact("sleeper"))
    assert [e.step for e in out.timeline] == ["welcome", "engage", "nudge"]
    assert out.timeline[1].outcome == "timeout" and 3 * 86400 <= out.timeline[1].at_s < 3 * 86400 + 60


async def test_wait_for_ignores_likely_bot_clicks(sim):
    bot = SimEvent(type="email.clicked", step="welcome", delay_s=1, likely_bot=True)
    out = await sim.run(engagement_journey(), contact("botted"), [bot])
    assert out.delivered_events == [(pytest.approx(1, abs=1), "email.clicked")]
    assert [e.step for e in out.timeline] == ["welcome", "engage", "nudge"]
    assert out.timeline[1].outcome == "timeout"


async def test_branch_on_score_stage_tags_and_attributes(sim):
    j = journey(
        ir.Branch(
            id="route",
            cases=(
                ir.Case(when='score >= 50 and stage == "mql"', next="sales"),
                ir.Case(when='attributes.plan == "team" and "webinar" in tags', next="webinar"),
            ),
            default="nurture",
        ),
        ir.Exit(id="sales", reason="sales"),
        ir.Exit(id="webinar", reason="webinar"),
        ir.Exit(id="nurture", reason="nurture"),
    )
    hot = await sim.run(j, contact("hot", score=60, stage="mql"))
    team = await sim.run(j, contact("team", score=60, stage="lead", tags=["webinar"], attributes={"plan": "team"}))
    cold = await sim.run(j, contact("cold", score=10))
    assert (hot.result.reason, team.result.reason, cold.result.reason) == ("sales", "webinar", "nurture")


async def test_set_updates_the_profile_once_and_branches_see_it(sim):
    j = journey(
        ir.SetProfile(id="promote", stage="sql", score_add=20, tags_add=("sales-ready",), tags_remove=("nurture",),
                      attributes=(("owner", "sales"),)),
        ir.Branch(id="check", cases=(ir.Case(when='stage == "sql" and score == 30', next="ok"),), default="bad"),
        ir.Exit(id="ok", reason="ok"),
        ir.Exit(id="bad", reason="bad"),
    )
    out = await sim.run(j, contact("promoted", score=10, stage="mql", tags=["nurture"]))
    assert out.result.reason == "ok"
    c = sim.store.find_contact(email="promoted@example.com")
    assert c.stage == "sql" and c.tags == ["sales-ready"] and c.attributes["owner"] == "sales"
    assert sim.store.get_scores(c.id)["global"] == 30


async def test_split_is_deterministic_per_run_and_records_the_variant(sim):
    assert bucket("a/b/c/1") == bucket("a/b/c/1")
    spread = [bucket(f"journey/x/{i}/run/split/1") for i in range(2000)]
    assert all(0 <= b < 100 for b in spread)
    assert 850 < sum(1 for b in spread if b < 45) < 950  # ~45% land in the first 45 buckets
    j = journey(
        ir.Split(id="ab", variants=(ir.Variant(name="a", percent=50, next="a"), ir.Variant(name="b", percent=40, next="b")), holdout=10),
        ir.Exit(id="a", reason="a"),
        ir.Exit(id="b", reason="b"),
    )
    out = await sim.run(j, contact("splitter"))
    variant = out.timeline[0].detail["variant"]
    assert out.result.reason == ("holdout" if variant == "holdout" else variant)
    cid = sim.store.find_contact(email="splitter@example.com").id
    recorded = sim.store.events_for(cid, type="journey.split")
    assert [e.data["variant"] for e in recorded] == [variant]


async def test_goal_reached_while_waiting_ends_the_run(sim):
    j = journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=10 * 86400, next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"],
        goal='stage == "customer"',
    )
    cid = sim.create_contact(contact("converts", stage="lead"))

    def become_customer(store, contact_id, event_type, data, event_id):
        if event_type == "purchase.completed" and contact_id == cid:
            store.set_stage(contact_id, "customer", reason="purchase")
            return ["stage"]
        return []

    from engine import events

    events.EVENT_HOOKS.append(become_customer)
    try:
        out = await sim.run(j, cid, [SimEvent.parse("purchase.completed+2d")])
    finally:
        events.EVENT_HOOKS.remove(become_customer)
    assert out.result.outcome == "goal"
    assert len(out.emails) == 1
    assert 2 * 86400 <= out.timeline[-1].at_s < 3 * 86400


async def _profile_reads(sim) -> int:
    history = await sim.env.client.get_workflow_handle(sim.started[-1]).fetch_history()
    return sum(b'"activity_type":"read_profile"' in e.marker_recorded_event_attributes.details["data"].payloads[0].data
               for e in history.events if e.HasField("marker_recorded_event_attributes"))


async def test_a_wait_reads_the_profile_only_when_a_change_arrives(sim):
    """Nothing to re-check without a change: a wait costs no profile read (a run of revision 1
    read it before every wait; tests/histories keep such runs replaying)."""
    j = journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=86400, next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"],
    )
    quiet = sim.create_contact(contact("quietwait", stage="lead"))
    out = await sim.run(j, quiet)
    assert out.result.outcome == "completed" and len(out.emails) == 2
    assert await _profile_reads(sim) == 0

    changed = sim.create_contact(contact("changedwait", stage="lead"))

    def touch(store, contact_id, event_type, data, event_id):
        return ["tags"] if event_type == "page.viewed" and contact_id == changed else []

    from engine import events

    events.EVENT_HOOKS.append(touch)
    try:
        out = await sim.run(j, changed, [SimEvent.parse("page.viewed+2h")])
    finally:
        events.EVENT_HOOKS.remove(touch)
    assert out.result.outcome == "completed" and len(out.emails) == 2
    assert await _profile_reads(sim) == 1  # the change, read while waiting (goal and consent re-checked)


async def test_wait_until_attribute_with_offset_in_the_contact_zone(sim):
    now = await sim.env.get_current_time()
    webinar = (now + timedelta(days=10)).replace(microsecond=0)
    j = journey(
        ir.Wait(id="day-before", until_attribute="webinar_at", offset_s=-86400, next="remind"),
        ir.SendEmail(id="remind", template="remind"),
        emails=["remind"],
    )
    out = await sim.run(j, contact("webinar", attributes={"webinar_at": webinar.isoformat()}))
    sent_at = datetime.fromisoformat(out.result.trail[-1]["at"])
    assert abs((sent_at - (webinar - timedelta(days=1))).total_seconds()) < 60
    missing = await sim.run(j, contact("nowebinar"))
    assert missing.timeline[0].outcome == "skipped" and missing.timeline[0].detail["reason"].startswith("attribute_missing")


async def test_wait_window_lands_inside_the_window_in_the_contact_zone(sim):
    j = journey(
        ir.Wait(id="office", duration_s=3600, window=ir.Window(days=(0, 1, 2, 3, 4), from_min=9 * 60, to_min=17 * 60),
                next="mail"),
        ir.SendEmail(id="mail", template="mail"),
        emails=["mail"],
    )
    out = await sim.run(j, contact("window", timezone="America/New_York"))
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(out.result.trail[-1]["at"]).astimezone(ZoneInfo("America/New_York"))
    assert local.weekday() < 5 and 9 <= local.hour < 17


async def test_notify_tells_sales_about_the_contact(sim):
    j = journey(ir.Notify(id="tell", to="sales", template="handoff"), emails=["handoff"])
    out = await sim.run(j, contact("lead"))
    assert [m["To"] for m in out.emails] == ["sales@nurture.local"]
    assert "Hi Flo" in out.emails[0].get_body(("plain",)).get_content()


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        _Hook.received.append((self.path, self.headers["Idempotency-Key"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


async def test_webhook_posts_the_rendered_body_with_an_idempotency_key(sim):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/crm"
        j = journey(ir.Webhook(id="crm", url=url, body='{"contact": {{ contact.id }}, "stage": "{{ stage }}"}'))
        granted = contact("hooked", stage="sql")
        granted["consent"] = {"email": ["marketing"], "webhook": ["third-party"]}
        out = await sim.run(j, granted)
        refused = await sim.run(j, contact("unhooked", stage="sql"))
    finally:
        server.shutdown()
    cid = sim.store.find_contact(email="hooked@example.com").id
    assert out.timeline[0].outcome == "sent"
    assert len(_Hook.received) == 1
    path, key, body = _Hook.received[0]
    assert path == "/crm" and len(key) == 32 and body == {"contact": cid, "stage": "sql"}
    assert refused.timeline[0].outcome == "skipped" and refused.timeline[0].detail["reason"] == "no_consent"
