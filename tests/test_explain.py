"""`cli.py explain`: every reason comes from a real run on the time-skipping server (real worker,
activities, SMTP sink, SQLite store), never from a fabricated record."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from compiler import ir
from deploy.visibility import when
from engine.simulation import SimEvent, Simulation
from explain.build import explain
from explain.render import to_dict, to_text
from tests.journey_builder import journey

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parent.parent


def person(name: str, **extra):
    spec = {"email": f"{name}@example.com", "first_name": f"Zq{name}", "timezone": "Europe/Madrid",
            "consent": {"email": ["marketing"]}}
    spec.update(extra)
    return spec


def named(j: ir.Journey, journey_id: str) -> ir.Journey:
    j = replace(j, id=journey_id)
    return replace(j, version=j.content_hash())


def two_emails(journey_id: str, **policy) -> ir.Journey:
    return named(journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=2 * 86400, next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"], **policy), journey_id)


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def kinds(ex, kind: str) -> list[str]:
    return [i.text for i in ex.sorted_items() if i.kind == kind]


async def test_a_sent_message_shows_its_consent_decision_and_basis(sim):
    out = await sim.run(two_emails("explain-sent"), person("sent"))
    assert out.result.outcome == "completed"
    cid = sim.store.find_contact(email="sent@example.com").id
    ex = await explain(sim.store, None, cid)
    sent = [i for i in ex.sorted_items() if i.kind == "sent"]
    assert [i.step for i in sent] == ["first", "second"]
    assert sent[0].message_id == str(out.emails[0]["Message-ID"]).strip()
    assert "consent: email/marketing consent granted via simulation" in sent[0].text
    assert sent[0].data["consent"]["purpose"] == "marketing" and sent[0].data["consent"]["source"] == "simulation"
    assert kinds(ex, "entered") == [f"entered explain-sent (version {out_version(sim, 'explain-sent')}) "
                                    "by hand (cli.py enroll, a rule or the API)"]
    assert kinds(ex, "outcome") == ["completed at step second"]
    text = to_text(ex)
    assert "Europe/Madrid" in text and "CET" in text and "UTC)" in text  # local time, then UTC


def out_version(sim, journey_id: str) -> str:
    return sim.store.list_journey_versions(journey_id)[-1].version


async def test_no_consent_is_a_skip_with_its_basis(sim):
    await sim.run(two_emails("explain-noconsent"), person("noconsent", consent={}))
    cid = sim.store.find_contact(email="noconsent@example.com").id
    ex = await explain(sim.store, None, cid)
    assert kinds(ex, "skipped") == ["skipped (email): no email/marketing consent on record"] * 2
    assert [i.step for i in ex.sorted_items() if i.kind == "skipped"] == ["first", "second"]
    assert kinds(ex, "sent") == []


async def test_an_unsubscribed_contact_is_skipped_since_the_unsubscribe(sim):
    out = await sim.run(two_emails("explain-unsub"), person("unsub"), [SimEvent.parse("email.unsubscribed@first+1h")])
    assert len(out.emails) == 1
    cid = sim.store.find_contact(email="unsub@example.com").id
    ex = await explain(sim.store, None, cid)
    skipped = [i for i in ex.sorted_items() if i.kind == "skipped"]
    assert len(skipped) == 1 and skipped[0].step == "second"
    withdrawn = sim.store.consent_state(cid, "email", "marketing")
    assert skipped[0].text == ("skipped (email): email/marketing consent withdrawn since "
                               f"{when(withdrawn.at.isoformat())} by simulation")
    assert "consent email/marketing withdrawn via simulation" in kinds(ex, "consent")


async def test_a_suppressed_address_is_skipped_and_the_suppression_shown(sim):
    sim.store.suppress("email", "bounced@example.com", reason="hard_bounce", source="smtp 550 5.1.1")
    await sim.run(two_emails("explain-suppressed"), person("bounced"))
    cid = sim.store.find_contact(email="bounced@example.com").id
    ex = await explain(sim.store, None, cid)
    assert kinds(ex, "skipped")[0] == "skipped (email): address suppressed (hard_bounce)"
    assert kinds(ex, "suppressed") == ["email address suppressed (hard_bounce) by smtp 550 5.1.1"]


async def test_quiet_hours_postpone_with_the_time_they_end(sim):
    now = (await sim.env.get_current_time()).astimezone(timezone.utc)
    quiet = ir.QuietHours(from_min=now.hour * 60, to_min=((now.hour + 2) % 24) * 60)
    j = named(journey(ir.SendEmail(id="offer", template="offer"), emails=["offer"], quiet_hours=quiet,
                      timezone="UTC"), "explain-quiet")
    out = await sim.run(j, person("night", timezone="UTC"))
    assert len(out.emails) == 1
    cid = sim.store.find_contact(email="night@example.com").id
    ex = await explain(sim.store, None, cid)
    postponed = [i for i in ex.sorted_items() if i.kind == "postponed"]
    assert len(postponed) == 1 and postponed[0].step == "offer"
    until = postponed[0].data["until"]
    assert postponed[0].text == f"postponed: quiet hours until {when(until)}"
    assert until.startswith(now.date().isoformat()) or until > now.isoformat()
    assert f"T{(now.hour + 2) % 24:02d}:00:00" in until


async def test_a_frequency_cap_postpones_with_the_time_it_lifts(sim):
    j = named(journey(
        ir.SendEmail(id="one", template="one", next="two"), ir.SendEmail(id="two", template="two"),
        emails=["one", "two"], frequency_caps=(ir.FrequencyCap(channel="email", max=1, per_s=7 * 86400),)),
        "explain-cap")
    out = await sim.run(j, person("capped"))
    assert len(out.emails) == 2
    cid = sim.store.find_contact(email="capped@example.com").id
    ex = await explain(sim.store, None, cid)
    postponed = [i for i in ex.items if i.kind == "postponed"]
    first_sent = min(i.at for i in ex.items if i.kind == "sent")
    assert [(i.step, i.data["reason"]) for i in postponed] == [("two", "frequency_cap")]
    lifts = datetime.fromisoformat(postponed[0].data["until"])
    assert timedelta(days=7) <= lifts - first_sent <= timedelta(days=7, seconds=2)
    assert postponed[0].text == f"postponed: frequency cap until {when(lifts.isoformat())}"


async def test_goal_met_is_an_outcome_with_its_step(sim):
    j = named(journey(
        ir.SendEmail(id="first", template="first", next="convert"),
        ir.SetProfile(id="convert", stage="customer", next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"], goal='stage == "customer"'), "explain-goal")
    out = await sim.run(j, person("goal", stage="lead"))
    assert out.result.outcome == "goal"
    cid = sim.store.find_contact(email="goal@example.com").id
    ex = await explain(sim.store, None, cid)
    assert kinds(ex, "outcome") == ["goal met at step second (goal)"]
    assert [i.step for i in ex.items if i.kind == "sent"] == ["first"]  # the set step's ledger entry is no message
    assert kinds(ex, "stage")[-1].startswith("stage lead -> customer")


async def test_message_narrows_to_one_message_its_chain_and_engagement(sim):
    j = named(journey(
        ir.SendEmail(id="first", template="first", next="second"),
        ir.SendEmail(id="second", template="second", next="linger"),
        ir.Wait(id="linger", duration_s=86400),
        emails=["first", "second"]), "explain-message")
    cid = sim.create_contact(person("clicker"))
    other = named(journey(ir.Wait(id="long", duration_s=400 * 86400), emails=[]), "explain-other")
    other_run = await sim.start(other, cid)  # another run of the contact: it hears of the clicks too
    out = await sim.run(j, cid,
                        [SimEvent.parse("email.opened@second+1h"), SimEvent.parse("email.clicked@second+2h"),
                         SimEvent(type="email.clicked", step="second", delay_s=7200, likely_bot=True)])
    second = str(out.emails[1]["Message-ID"]).strip()
    ex = await explain(sim.store, None, cid, message_id=second.strip("<>"))
    m = ex.message
    assert m["message_id"] == second and m["step"] == "second" and m["template"] == "second"
    assert m["subject"] == "second for Zqclicker" and m["delivery"] == "sent"
    assert m["opens"] == {"human": 1, "bot": 0} and m["clicks"] == {"human": 1, "bot": 1}
    assert {i.kind for i in ex.items} == {"entered", "sent", "engagement"}
    assert all(i.message_id in (None, second) for i in ex.items)
    assert {(i.journey, i.step) for i in ex.items if i.kind == "engagement"} == {("explain-message", "second")}
    doc = to_dict(ex)
    assert doc["version"] == 1 and doc["message"]["clicks"]["bot"] == 1
    # (under the time-skipping server, sends carry the skipped workflow time, events the wall clock's)
    assert sorted(t["kind"] for t in doc["timeline"]) == ["engagement"] * 3 + ["entered", "sent"]
    everything = await explain(sim.store, sim.env.client, cid)
    assert {i.journey for i in everything.items if i.kind == "signal"} == {"explain-message", "explain-other"}
    ex = await explain(sim.store, sim.env.client, cid, message_id=second)
    assert {i.journey for i in ex.items if i.kind == "signal"} == {"explain-message"}
    await other_run.terminate("test done")


def cli(sim, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NURTURE_DB_URL=sim.store.url)
    return subprocess.run([sys.executable, "cli.py", "explain", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_cli_json_and_errors_for_unknown_and_erased_contacts(sim):
    await sim.run(two_emails("explain-cli"), person("cliuser"))
    cid = sim.store.find_contact(email="cliuser@example.com").id
    done = cli(sim, "cliuser@example.com", "--no-temporal", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["contact"] == {"id": cid, "timezone": "Europe/Madrid"}
    assert [t["kind"] for t in doc["timeline"] if t["kind"] == "sent"] == ["sent", "sent"]
    assert set(doc["timeline"][0]) == {"at", "local", "kind", "journey", "step", "workflow_id", "message_id",
                                       "source", "text", "data"}

    missing = cli(sim, "nobody@example.com", "--no-temporal")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        "error: no contact 'nobody@example.com' (give a contact id, an email or an external id)"]

    erased = sim.store.create_contact(email="gone@example.com", first_name="Gone")
    sim.store.erase_contact(erased)
    done = cli(sim, str(erased), "--no-temporal")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"error: contact {erased} was erased: nothing is kept to explain"

    no_message = cli(sim, str(cid), "--message", "nope@nurture.local", "--no-temporal")
    assert no_message.returncode == 1 and no_message.stdout == ""
    assert no_message.stderr.strip() == f"error: contact {cid} has no message <nope@nurture.local>"

    unknown_journey = cli(sim, str(cid), "no-such-journey", "--no-temporal")
    assert unknown_journey.returncode == 1 and "is not deployed" in unknown_journey.stderr
    assert "Traceback" not in unknown_journey.stderr


def deploy(sim, j: ir.Journey, state: str = "active") -> None:
    """What `cli.py apply` records (and `--drain`): the version, active, in this state."""
    sim.store.save_journey_version(j.id, j.version, j.to_dict())
    sim.store.set_journey_state(j.id, active_version=j.version, state=state)


def reasons_for(ex, journey_id: str) -> dict[str, str]:
    return {r["code"]: r["text"] for n in ex.not_in if n.journey == journey_id for r in n.reasons}


async def test_not_in_reasons_entry_event_segment_reentry_drained_consent(sim):
    from engine.events import publish

    by_event = named(journey(ir.SendEmail(id="hello", template="hello"), emails=["hello"],
                             entry=ir.Entry(kind="event", event="trial.started")), "explain-by-event")
    by_segment = named(journey(ir.SendEmail(id="hello", template="hello"), emails=["hello"],
                               entry=ir.Entry(kind="segment", segment="pricing-interest")), "explain-by-segment")
    again = named(journey(ir.SendEmail(id="hello", template="hello"), emails=["hello"],
                          entry=ir.Entry(kind="manual", reentry="after", reentry_after_s=30 * 86400)), "explain-again")
    drained = named(journey(ir.SendSms(id="ping", template="ping"), smses=["ping"]), "explain-drained")
    for j in (by_event, by_segment, again):
        deploy(sim, j)
    deploy(sim, drained, "draining")
    out = await sim.run(again, person("notin", phone="+34600999888"))
    assert out.result.outcome == "completed"
    cid = sim.store.find_contact(email="notin@example.com").id
    await publish(sim.env.client, sim.store, cid, "page.visited", data={"url": "https://x.example/pricing"},
                  deps=sim.deps, task_queue=sim.task_queue)
    ex = await explain(sim.store, None, cid)

    assert reasons_for(ex, "explain-by-event") == {"entry_event_never_seen": "entry event trial.started never seen"}
    segment = next(r for n in ex.not_in if n.journey == "explain-by-segment" for r in n.reasons)
    assert segment["code"] == "segment_false"
    assert segment["data"]["leaves"] == [{"test": "event page.visited at least 3 within 14d where url "
                                                   "contains '/pricing'", "result": False, "value": 1}]
    entered = sim.store.last_enrolment("explain-again", cid).started_at
    window = reasons_for(ex, "explain-again")["reentry_window"]
    assert window.startswith("re-entry window until ") and f"(entered {when(entered.isoformat())})" in window
    drained_reasons = reasons_for(ex, "explain-drained")
    assert drained_reasons == {"drained": "journey draining: no new entries",
                               "manual_entry": "enters only when enrolled (cli.py enroll, a rule or the API); "
                                               "never enrolled",
                               "no_consent": "no sms/marketing consent on record"}
    assert "explain-again: re-entry window until" in to_text(ex)


async def test_not_in_says_suppressed_and_withdrawn_consent(sim):
    j = named(journey(ir.SendEmail(id="hello", template="hello"), emails=["hello"],
                      entry=ir.Entry(kind="event", event="webinar.registered")), "explain-blocked")
    deploy(sim, j)
    cid = sim.create_contact(person("blocked"))
    sim.store.suppress("email", "blocked@example.com", reason="complaint", source="feedback loop")
    from engine import consent as consent_actions

    consent_actions.withdraw(sim.store, cid, "email", "marketing", source="unsubscribe link")
    ex = await explain(sim.store, None, cid, journey="explain-blocked")
    reasons = reasons_for(ex, "explain-blocked")
    assert reasons["suppressed"] == "email address suppressed (complaint)"
    assert reasons["no_consent"].startswith("email/marketing consent withdrawn since ")
    assert reasons["no_consent"].endswith(" by unsubscribe link")
    assert [n.journey for n in ex.not_in] == ["explain-blocked"]  # narrowed to the journey


def branching(journey_id: str) -> ir.Journey:
    return named(journey(
        ir.Branch(id="hot", cases=(ir.Case(when="score >= 50", next="vip"),), default="nurture"),
        ir.SendEmail(id="nurture", template="nurture", next="clicked"),
        ir.WaitFor(id="clicked", events=(ir.EventCase(event="email.clicked", of="nurture", next=None),),
                   timeout_s=3 * 86400, on_timeout=None),
        ir.SendEmail(id="vip", template="vip"),
        emails=["vip", "nurture"]), journey_id)


async def test_each_side_of_a_branch_with_the_values_it_read_and_the_wait_for_match(sim):
    j = branching("explain-branch")
    await sim.run(j, person("hot", score=70))
    await sim.run(j, person("cold", score=10), [SimEvent.parse("email.clicked@nurture+1h")])
    hot = await explain(sim.store, sim.env.client, sim.store.find_contact(email="hot@example.com").id)
    cold = await explain(sim.store, sim.env.client, sim.store.find_contact(email="cold@example.com").id)
    assert kinds(hot, "branch") == ["branch: score >= 50 is true (score=70) -> vip"]
    assert kinds(cold, "branch") == ["branch: score >= 50 is false (default) (score=10) -> nurture"]
    assert [i.source for i in hot.items if i.kind == "branch"] == ["temporal"]
    waits = kinds(cold, "wait")
    assert waits[0].startswith("timer set until ") and "(wait for email.clicked (3d timeout))" in waits[0]
    assert "timer cancelled (woken earlier) (wait for email.clicked (3d timeout))" in waits
    assert "wait_for matched by email.clicked" in waits
    clicked = sim.store.events_for(cold.contact_id, type="email.clicked")[0]
    assert f"signal: event email.clicked (event {clicked.id})" in kinds(cold, "signal")
    assert [(r.status, r.outcome, r.version) for r in cold.runs] == [("finished", "completed", j.version)]
    assert cold.timings["history_events"] > 0


async def test_a_run_in_flight_says_its_step_and_what_it_waits_for_until_when(sim):
    now = (await sim.env.get_current_time()).astimezone(timezone.utc)
    quiet = ir.QuietHours(from_min=now.hour * 60, to_min=((now.hour + 2) % 24) * 60)
    j = named(journey(ir.SendEmail(id="offer", template="offer"), emails=["offer"], quiet_hours=quiet,
                      timezone="UTC"), "explain-held")
    cid = sim.create_contact(person("held", timezone="UTC"))
    handle = await sim.start(j, cid)  # not awaited: the time-skipping server keeps its clock, the run waits
    ex = None
    for _ in range(200):
        ex = await explain(sim.store, sim.env.client, cid)
        if ex.runs[0].waiting == "quiet hours":
            break
        await asyncio.sleep(0.05)
    ex = await explain(sim.store, sim.env.client, cid)  # the store was read before the run postponed
    run = ex.runs[0]
    assert (run.status, run.step, run.waiting) == ("running", "offer", "quiet hours")
    postponed = [i for i in ex.items if i.kind == "postponed"][0]
    assert run.until == datetime.fromisoformat(postponed.data["until"])
    text = to_text(ex)
    assert f"{j.id}/{cid} (version {j.version}, entered by hand" in text
    assert "running at step offer (waiting: quiet hours until " in text
    await handle.terminate("test done")


async def test_cli_reads_temporal_through_the_client(sim):
    await sim.run(branching("explain-cli-branch"), person("clihot", score=90))
    env = dict(os.environ, NURTURE_DB_URL=sim.store.url,
               TEMPORAL_ADDRESS=sim.env.client.service_client.config.target_host)
    done = subprocess.run([sys.executable, "cli.py", "explain", "clihot@example.com", "explain-cli-branch"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "branch: score >= 50 is true (score=90) -> vip" in done.stdout
    assert "finished: completed (end)" in done.stdout
    assert "explain-by-event" not in done.stdout  # narrowed to the journey


async def test_a_migrated_run_is_read_across_continue_as_new(sim):
    """`apply --migrate` signals `migrate`: the run continues as new on the new version. Explain
    follows the chain from the enrolment's first run id to the last run."""
    from workflows.run_types import SIGNAL_MIGRATE, MigrateRequest

    old = two_emails("explain-migrated")
    new = named(journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=86400, next="second"),
        ir.SendEmail(id="second", template="second", next="pause-more"),
        ir.Wait(id="pause-more", duration_s=86400),
        emails=["first", "second"]), "explain-migrated")
    sim.store.save_journey_version(new.id, new.version, new.to_dict())
    cid = sim.create_contact(person("migrated"))
    handle = await sim.start(old, cid)
    for _ in range(200):
        state = await handle.query("state")
        if state.get("step") == "pause" and state.get("waiting"):
            break
        await asyncio.sleep(0.05)
    await handle.signal(SIGNAL_MIGRATE, MigrateRequest(journey=new.to_dict()))
    latest = sim.env.client.get_workflow_handle(handle.id)  # the chain's latest run
    for _ in range(10):  # skip time a day at a time until the new version's run ends
        if (await latest.describe()).status.name != "RUNNING":
            break
        await sim.env.sleep(86400)
    ex = await explain(sim.store, sim.env.client, cid)
    run = ex.runs[0]
    assert (run.status, run.outcome, run.version) == ("finished", "completed", new.version)
    assert f"entered explain-migrated (version {new.version})" in kinds(ex, "entered")[0]
    timers = [t for t in kinds(ex, "wait") if t.startswith("timer set")]
    assert [t.split("(")[-1] for t in timers] == ["wait 2d)", "wait 1d)", "wait 1d)"]  # both runs of the chain
    assert [i.step for i in ex.items if i.kind == "sent"] == ["first", "second"]
