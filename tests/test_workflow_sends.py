"""Sends on the time-skipping server with real SMTP and a real HTTP SMS API:
headers, tracking, consent, quiet hours, caps, and exactly-once under faults."""

from __future__ import annotations

from dataclasses import replace
import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from activities import contracts as c
from activities.email import send_email
from activities.profile import record_outcome
from compiler import ir
from compiler.compile import compile_file
from engine.simulation import SimEvent, Simulation
from tests.journey_builder import journey
from tracking import tokens

pytestmark = pytest.mark.asyncio

ANA = {
    "email": "ana@example.com",
    "phone": "+34600111222",
    "first_name": "Ana",
    "timezone": "Europe/Madrid",
    "consent": {"email": ["marketing"], "sms": ["marketing"]},
}


@pytest.fixture(scope="module")
async def sim():
    async with Simulation() as s:
        yield s


def one_email() -> ir.Journey:
    return journey(ir.SendEmail(id="welcome", template="welcome"), emails=["welcome"])


async def test_email_is_sent_with_headers_parts_and_tracked_links(sim):
    out = await sim.run(one_email(), dict(ANA))
    assert out.result.outcome == "completed"
    assert len(out.emails) == 1
    msg = out.emails[0]
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "welcome for Ana"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in msg["List-Unsubscribe"]
    assert msg["Message-ID"].endswith("@nurture.local>")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Hi Ana" in text and "Hi Ana" in html
    assert "https://example.com/welcome?utm=1" not in html  # rewritten to a click link
    assert 'style="color: #333' in html or "color:#333" in html.replace(" ", "")  # CSS inlined
    click_tokens = [part.split('"')[0] for part in html.split("/c/")[1:]]
    assert len(click_tokens) == 2
    payload = sim.deps.signer.verify(click_tokens[0], tokens.CLICK)
    assert payload["message_id"] == msg["Message-ID"]
    assert sim.store.message_link(payload["message_id"], payload["link"]) == "https://example.com/welcome?utm=1"
    assert "/o/" in html  # open pixel
    # the run's trail names the message by id only
    assert out.timeline[0].outcome == "sent" and out.timeline[0].subject == "welcome for Ana"


async def test_an_email_renders_with_the_shared_parts_of_its_version(sim):
    news = ir.EmailTemplate(
        subject="News",
        html='{% extends "_layout.html" %}{% block content %}<p>Hi {{ contact.first_name }}</p>{% endblock %}',
        text='{% extends "_layout.txt" %}{% block content %}Hi {{ contact.first_name }}{% endblock %}',
    )
    base = journey(ir.SendEmail(id="news", template="news"), emails=[("news", news)])
    parts = (
        ("_layout.html", '<html><body>{% block content %}{% endblock %}<p>Shared footer</p></body></html>'),
        ("_layout.txt", "{% block content %}{% endblock %}\n-- Shared footer"),
    )
    j = replace(base, template_parts=parts, template_uses=(("news", ("_layout.html", "_layout.txt")),))
    out = await sim.run(replace(j, version=j.content_hash()), dict(ANA))
    assert out.result.outcome == "completed" and len(out.emails) == 1
    html = out.emails[0].get_body(("html",)).get_content()
    assert "<p>Hi Ana</p>" in html and "<p>Shared footer</p>" in html
    assert out.emails[0].get_body(("plain",)).get_content().splitlines() == ["Hi Ana", "-- Shared footer"]


async def test_sms_goes_to_the_api_in_e164_with_its_segment_count(sim):
    j = journey(ir.SendSms(id="nudge", template="nudge"), smses=["nudge"])
    contact = dict(ANA, phone="+34 600 111 333")
    out = await sim.run(j, contact)
    assert len(out.sms) == 1
    assert out.sms[0]["to"] == "+34600111333"
    assert "Reply STOP" in out.sms[0]["body"]
    sent = [e for e in sim.store.events_for(sim.store.find_contact(phone="+34600111333").id, type="sms.sent")]
    assert sent and sent[0].data["segments"] == 1 and sent[0].data["encoding"] == "GSM-7"


async def test_no_consent_skips_the_send_and_records_the_decision(sim):
    contact = dict(ANA, email="noconsent@example.com", consent={})
    out = await sim.run(one_email(), contact)
    assert out.emails == []
    assert out.timeline[0].outcome == "skipped" and out.timeline[0].detail["reason"] == "no_consent"
    cid = sim.store.find_contact(email="noconsent@example.com").id
    decisions = sim.store.consent_decisions(cid)
    assert [(d.channel, d.purpose, d.granted) for d in decisions] == [("email", "marketing", False)]


async def test_no_consent_with_exit_policy_ends_the_run(sim):
    j = journey(
        ir.SendEmail(id="first", template="first", next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"],
        on_no_consent="exit",
    )
    out = await sim.run(j, dict(ANA, email="exit@example.com", consent={}))
    assert out.result.outcome == "exited" and out.result.reason == "no_consent"
    assert [(e.step, e.outcome) for e in out.timeline] == [("first", "skipped"), ("first", "exited")]


async def _completion(sim, email: str) -> tuple[int, list, list]:
    """The contact's `journey.completed` events and the local-activity markers of its last run."""
    cid = sim.store.find_contact(email=email).id
    history = await sim.env.client.get_workflow_handle(sim.started[-1]).fetch_history()
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    return cid, sim.store.events_for(cid, type="journey.completed"), markers


async def test_a_last_send_records_the_runs_completion_in_its_own_commit(sim):
    """No separate outcome record when the run ends on a message that went out; a retried
    attempt of that send finds it done and does not report the completion twice."""
    j = one_email()
    out = await sim.run(j, dict(ANA, email="last@example.com"))
    assert out.result.outcome == "completed" and len(out.emails) == 1
    cid, completed, markers = await _completion(sim, "last@example.com")
    assert [(e.step_id, e.data["reason"], e.data["version"]) for e in completed] == [("welcome", "end", j.version)]
    assert markers == []  # no record_outcome local activity
    assert sim.store.running_workflow_ids(cid) == []  # enrolment closed: events no longer routed
    desc = await sim.env.client.get_workflow_handle(sim.started[-1]).describe()
    ref = c.StepRef(journey_id=j.id, version=j.version, workflow_id=desc.id, run_id=desc.run_id, step_id="welcome",
                    visit=1, contact_id=cid, at=datetime.now(timezone.utc).isoformat())
    again = await send_email(sim.deps, c.SendInput(ref=ref, template_name="welcome", purpose="marketing",
                                                   templates={}, finish=True))
    assert (again.status, again.reason, again.finished) == ("sent", "already_sent", True)
    record_outcome(sim.deps, c.OutcomeInput(ref=ref, outcome="completed"))  # as a retried local activity would
    assert len(sim.store.events_for(cid, type="journey.completed")) == 1
    assert len([m for m in sim.smtp.messages if m["To"] == "last@example.com"]) == 1


async def test_a_last_send_that_does_not_go_out_leaves_the_completion_to_the_run(sim):
    out = await sim.run(one_email(), dict(ANA, email="lastskip@example.com", consent={}))
    assert out.result.outcome == "completed" and out.emails == []
    _, completed, markers = await _completion(sim, "lastskip@example.com")
    assert len(completed) == 1 and len(markers) == 1  # recorded once, by record_outcome


async def test_a_message_accepted_but_unacknowledged_is_not_sent_twice(sim):
    """The sink stores the message and cuts the connection before the 250."""
    sim.smtp.drop_connection_after_data(times=1)
    out = await sim.run(one_email(), dict(ANA, email="dropped@example.com"))
    got = [m for m in sim.smtp.messages if m["To"] == "dropped@example.com"]
    assert len(got) == 1
    assert out.timeline[0].outcome == "sent" and out.timeline[0].detail["reason"] == "uncertain"


async def test_451_twice_then_250_delivers_once(sim):
    sim.smtp.fail_next(code=451, times=2)
    out = await sim.run(one_email(), dict(ANA, email="greylisted@example.com"))
    got = [m for m in sim.smtp.messages if m["To"] == "greylisted@example.com"]
    assert len(got) == 1
    assert out.timeline[0].outcome == "sent"


async def test_550_fails_after_one_attempt_and_suppresses_the_address(sim):
    sim.smtp.reject_recipient("gone@example.com", code=550, enhanced="5.1.1")
    out = await sim.run(one_email(), dict(ANA, email="gone@example.com"))
    assert out.emails == []
    assert out.timeline[0].outcome == "failed" and out.timeline[0].detail["reason"].startswith("bounced:550")
    assert sim.store.suppression_reason("email", "GONE@example.com") == "hard_bounce"
    cid = sim.store.find_contact(email="gone@example.com").id
    bounced = sim.store.events_for(cid, type="email.bounced")
    assert [(e.type, e.step_id, e.data["hard"]) for e in bounced] == [("email.bounced", "welcome", True)]
    # the bounce went through the event path: the scoring model's hard-bounce rule applied
    assert any("hard-bounce" in h.reason for h in sim.store.score_history(cid))
    # a later journey is refused before any SMTP traffic
    later = journey(ir.SendEmail(id="welcome", template="welcome"), emails=["welcome"],
                    entry=ir.Entry(kind="manual", reentry="always"))
    again = await sim.run(later, cid)
    assert again.timeline[0].outcome == "skipped" and again.timeline[0].detail["reason"] == "suppressed"


async def test_consent_withdrawn_while_waiting_stops_the_next_send(sim):
    j = journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=3 * 86400, next="second"),
        ir.SendEmail(id="second", template="second", next="third"),
        ir.SendSms(id="third", template="third"),
        emails=["first", "second"],
        smses=["third"],
    )
    out = await sim.run(
        j,
        dict(ANA, email="withdraws@example.com", phone="+34600999888"),
        [SimEvent.parse("email.unsubscribed@first+1d")],
    )
    assert [m["Subject"] for m in out.emails] == ["first for Ana"]
    second = [e for e in out.timeline if e.step == "second"][0]
    assert second.outcome == "skipped" and second.detail["reason"] == "no_consent"
    assert len(out.sms) == 1  # SMS consent was not withdrawn


async def test_quiet_hours_postpone_a_send_to_the_end_of_the_quiet_period(sim):
    j = journey(
        ir.Wait(id="evening", duration_s=22 * 3600, next="offer"),
        ir.SendEmail(id="offer", template="offer"),
        emails=["offer"],
        quiet_hours=ir.QuietHours(from_min=21 * 60, to_min=8 * 60),
        timezone="UTC",
    )
    out = await sim.run(j, dict(ANA, email="night@example.com", timezone="UTC"))
    sent = [e for e in out.timeline if e.outcome == "sent"]
    assert len(sent) == 1 and len(out.emails) == 1
    sent_at = datetime.fromisoformat(out.result.trail[-1]["at"])
    assert 8 * 60 <= sent_at.hour * 60 + sent_at.minute < 21 * 60  # never inside quiet hours
    postponed = [e for e in out.timeline if e.outcome == "postponed"]
    if postponed:  # unless the simulated clock started at a time where 22h later is daytime
        assert postponed[0].detail["reason"] == "quiet_hours"


async def test_frequency_cap_postpones_the_second_send(sim):
    j = journey(
        ir.SendEmail(id="one", template="one", next="two"),
        ir.SendEmail(id="two", template="two"),
        emails=["one", "two"],
        frequency_caps=(ir.FrequencyCap(channel="email", max=1, per_s=7 * 86400),),
    )
    out = await sim.run(j, dict(ANA, email="capped@example.com"))
    assert len(out.emails) == 2
    postponed = [e for e in out.timeline if e.outcome == "postponed"]
    assert postponed and postponed[0].detail["reason"] == "frequency_cap"
    second = [e for e in out.timeline if e.step == "two" and e.outcome == "sent"][0]
    assert second.at_s >= 7 * 86400


async def test_an_unexpected_activity_error_reaches_the_history_without_its_text(sim):
    """A store error naming an address must not put the address into the run's history."""
    original = sim.store.template_context

    def failing(contact_id, **kw):
        raise ValueError("cannot render for leaky@example.com")

    sim.store.template_context = failing
    try:
        cid = sim.create_contact(dict(ANA, email="leaky@example.com"))
        handle = await sim.start(one_email(), cid)
        failures = []
        for _ in range(200):  # a retried failure shows as the pending activity's last failure
            failures = [p.last_failure for p in (await handle.describe()).raw_description.pending_activities
                        if p.HasField("last_failure")]
            if failures:
                break
            await asyncio.sleep(0.05)
        await handle.terminate("test over")
    finally:
        sim.store.template_context = original
    assert failures and failures[0].message == "ValueError (details in the worker log)"
    assert "leaky" not in (await handle.fetch_history()).to_json()


def _compiled_with_sender(folder: Path, journey_from: str | None, sending_yaml: str | None) -> ir.Journey:
    """A one-email journey compiled from files in `folder` (its own `from:` and a sending.yaml, if given)."""
    (folder / "templates").mkdir(parents=True)
    for part, text in (("subject.txt", "Hello"), ("html", "<p>Hi</p>"), ("txt", "Hi")):
        (folder / "templates" / f"hello.{part}").write_text(text)
    if sending_yaml is not None:
        (folder / "sending.yaml").write_text(sending_yaml)
    own = f"from: {journey_from!r}\n" if journey_from else ""
    (folder / "hello.yaml").write_text(
        f"journey: hello\n{own}entry: {{manual: true}}\npolicy: {{consent: {{email: marketing}}}}\n"
        "steps:\n  - {id: hello, type: send_email, template: hello}\n"
    )
    result = compile_file(folder / "hello.yaml")
    assert result.journey is not None, [str(e) for e in result.errors]
    return result.journey


SENDING = 'from: "Northwind Support <support@northwind.example>"\nreply_to: help@northwind.example\nchannels: {}\n'


async def test_a_journeys_from_is_the_messages_from_and_the_envelope_sender(sim, tmp_path):
    j = _compiled_with_sender(tmp_path, "Northwind Café <hello@northwind.example>", SENDING)
    assert j.sender == "Northwind Café <hello@northwind.example>"
    before = len(sim.smtp.deliveries)
    out = await sim.run(j, dict(ANA, email="from@example.com"))
    assert len(out.emails) == 1
    msg = out.emails[0]
    assert str(msg["From"]) == "Northwind Café <hello@northwind.example>"
    assert msg["From"].addresses[0].display_name == "Northwind Café"
    assert str(msg["Reply-To"]) == "help@northwind.example"  # the journey names none: sending.yaml's
    [envelope] = [d.mail_from for d in sim.smtp.deliveries[before:]]
    assert envelope.startswith("bounce+") and envelope.endswith("@northwind.example")  # VERP on the From domain


async def test_sending_yamls_from_applies_to_a_journey_without_one(sim, tmp_path):
    j = _compiled_with_sender(tmp_path, None, SENDING)
    out = await sim.run(j, dict(ANA, email="default-from@example.com"))
    assert str(out.emails[0]["From"]) == "Northwind Support <support@northwind.example>"
    assert str(out.emails[0]["Reply-To"]) == "help@northwind.example"


async def test_without_a_configured_sender_the_workers_default_applies(sim, tmp_path):
    j = _compiled_with_sender(tmp_path, None, None)
    assert j.sender is None and "sender" not in j.to_dict()  # the version is what it was before senders
    out = await sim.run(j, dict(ANA, email="no-from@example.com"))
    assert str(out.emails[0]["From"]) == sim.deps.sender and out.emails[0]["Reply-To"] is None
