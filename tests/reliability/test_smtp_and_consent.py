"""SMTP faults and consent withdrawal, with a real worker process, dev server and SMTP sink.

- the SMTP server down for 20 s, then up: every message delivered once after recovery;
- 451 twice then 250: delivered once; 550 5.1.1: bounced after one attempt, address suppressed;
- consent withdrawn for 50 contacts while their runs wait: nothing more is sent to them.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from bench.harness import Rig, delivery_problems, enrol_all, make_contacts, sent_message_ids, two_emails, wait_all
from engine import consent
from engine.events import profile_changed, publish
from tests.tracking_helpers import http, make_app
from workflows.run_types import RunResult

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(900)]  # a hang guard: the waits fail on a stall


def addresses(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}@example.com" for i in range(n)]


def expected(results: list[RunResult], prefix: str) -> dict[str, set[str]]:
    return {f"{prefix}{i}@example.com": sent_message_ids(r)[0] for i, r in enumerate(results)}


async def test_smtp_down_for_20_s_then_up(rig: Rig) -> None:
    journey = two_emails(rig.workdir / "journeys")
    ids = make_contacts(rig.store, 5, "down")
    rig.start_worker()
    started = time.monotonic()  # before the outage starts: it lasts 20 s from a later moment
    outage = asyncio.create_task(rig.restart_sink(down_s=20))
    await asyncio.sleep(0)  # the task runs up to its wait: the sink is down before the first attempt
    workflow_ids = await enrol_all(rig.client, rig.store, journey, ids, rig.task_queue)
    await outage
    assert rig.deliveries == [], "nothing can arrive while the server is down"
    results = await wait_all(rig.client, workflow_ids, timeout=90)
    assert time.monotonic() - started >= 19
    assert [r.outcome for r in results] == ["completed"] * 5
    assert not delivery_problems(rig.deliveries, expected(results, "down"))
    assert len(rig.deliveries) == 10


async def activity_attempts(rig: Rig, workflow_id: str, activity: str) -> list[int]:
    """The attempt number of each time `activity` finally started in the run's history."""
    history = await rig.client.get_workflow_handle(workflow_id).fetch_history()
    names = {e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
             for e in history.events if e.HasField("activity_task_scheduled_event_attributes")}
    return [e.activity_task_started_event_attributes.attempt for e in history.events
            if e.HasField("activity_task_started_event_attributes")
            and names[e.activity_task_started_event_attributes.scheduled_event_id] == activity]


async def test_451_twice_then_250_delivers_once_and_550_bounces_once_and_suppresses(rig: Rig) -> None:
    journey = two_emails(rig.workdir / "journeys")
    rig.start_worker()
    [retried] = make_contacts(rig.store, 1, "retried")
    rig.sink.fail_next(451, times=2, enhanced="4.3.2", text="try again later")
    [retried_wf] = await enrol_all(rig.client, rig.store, journey, [retried], rig.task_queue)
    [result] = await wait_all(rig.client, [retried_wf], timeout=60)
    assert result.outcome == "completed"
    assert not delivery_problems(rig.deliveries, expected([result], "retried"))
    assert await activity_attempts(rig, retried_wf, "send_email") == [3, 1]  # 2 x 451, then 250; then 250

    [bounced] = make_contacts(rig.store, 1, "bounced")
    rig.sink.reject_recipient("bounced0@example.com", 550, "5.1.1")
    [bounced_wf] = await enrol_all(rig.client, rig.store, journey, [bounced], rig.task_queue)
    [result] = await wait_all(rig.client, [bounced_wf], timeout=60)
    outcomes = {e["step"]: (e["outcome"], e.get("reason")) for e in result.trail}
    assert outcomes["first"] == ("failed", "bounced:550 5.1.1")
    assert outcomes["second"] == ("skipped", "suppressed")  # the address is suppressed from now on
    assert await activity_attempts(rig, bounced_wf, "send_email") == [1, 1]  # bounce: no retry; then skipped
    assert rig.store.suppression_reason("email", "bounced0@example.com") == "hard_bounce"
    assert not any("bounced0@example.com" in d.rcpt_tos for d in rig.deliveries)


def unsubscribe_path(rig: Rig, address: str) -> str:
    [mail] = [d.message for d in rig.deliveries if address in d.rcpt_tos]
    return re.search(r"<https?://[^/>]+(/u/[^>]+)>", str(mail["List-Unsubscribe"])).group(1)


GO = "test.go"  # ends the runs' wait: the test withdraws consent first, however long that takes


async def test_consent_withdrawn_while_waiting_stops_every_later_send(rig: Rig) -> None:
    journey = two_emails(rig.workdir / "journeys", pause="1h", until=GO)
    withdrawn = make_contacts(rig.store, 50, "gone")
    kept = make_contacts(rig.store, 10, "kept")
    rig.start_worker()
    workflow_ids = await enrol_all(rig.client, rig.store, journey, withdrawn + kept, rig.task_queue)
    await rig.until_delivered(60, which=lambda d: str(d.message["Subject"]).startswith("first"))
    app = make_app(rig.store, rig.client, task_queue=rig.task_queue)
    async with http(app) as web:
        for i, cid in enumerate(withdrawn):
            if i % 2:  # half through the one-click unsubscribe POST of the tracking server
                r = await web.post(unsubscribe_path(rig, f"gone{i}@example.com"),
                                   data={"List-Unsubscribe": "One-Click"})
                assert r.status_code == 200, r.text
            else:  # half through the engine, as the preference page and the CLI do
                consent.withdraw(rig.store, cid, "email", "marketing", source="reliability test")
                await profile_changed(rig.client, rig.store, cid, "consent")
    assert len(rig.deliveries) == 60, "every run still waits: no second email yet"
    for cid in withdrawn + kept:
        await publish(rig.client, rig.store, cid, GO)
    results = await wait_all(rig.client, workflow_ids, timeout=60)
    second = [{e["step"]: (e["outcome"], e.get("reason")) for e in r.trail}["second"] for r in results]
    assert second[:50] == [("skipped", "no_consent")] * 50
    assert [outcome for outcome, _ in second[50:]] == ["sent"] * 10
    to = [rcpt for d in rig.deliveries for rcpt in d.rcpt_tos]
    assert all(to.count(a) == 1 for a in addresses("gone", 50)), "one email each, none after the withdrawal"
    assert all(to.count(a) == 2 for a in addresses("kept", 10))
