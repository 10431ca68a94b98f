"""The deliverability policy (marketing/bounces.py) on SQLite and PostgreSQL: what a hard bounce,
soft bounces, a complaint do; matching by VERP or quoted Message-ID; each report acted on once."""

from __future__ import annotations

import asyncio

import pytest

from compiler.sending_model import BouncePolicy
from marketing import bounces
from marketing.bounce_mail import parse_report
from marketing.bounces import Feedback, apply, store_publisher
from tests.bounce_samples import filled
from tracking import tokens
from tracking.verp import verp_address

SIGNER = tokens.TokenSigner([b"p" * 32])


def sent(store, email: str = "ana@example.com", n: int = 1):
    """A contact with email consent and `n` messages of journey welcome, step hello."""
    contact_id = store.create_contact(email=email)
    store.record_consent(contact_id, "email", "marketing", "granted", source="test")
    ids = []
    for i in range(n):
        message_id = f"<{i:032x}@nurture.local>".replace("<0", f"<{contact_id % 10}", 1)
        store.save_message(message_id, contact_id=contact_id, journey_id="welcome", step_id="hello",
                           channel="email", links=[])
        ids.append(message_id)
    return contact_id, ids


def run(store, fb: Feedback, policy: BouncePolicy | None = None):
    return asyncio.run(apply(store, SIGNER, fb, store_publisher(store), policy))


def test_a_hard_bounce_by_verp_suppresses_and_is_an_event_of_its_step(store) -> None:
    contact_id, [mid] = sent(store)
    verp = verp_address(SIGNER, mid, contact_id, "northwind.example")
    raw = filled("postfix_dsn_template.eml", verp=verp, rcpt="ana@example.com", message_id="<none@elsewhere>")
    out = run(store, parse_report(raw))
    assert out.status == "applied" and out.suppressed == "hard_bounce" and out.contact_id == contact_id
    assert store.suppression_reason("email", "ana@example.com") == "hard_bounce"
    [event] = store.events_for(contact_id, type="email.bounced")
    assert (event.journey_id, event.step_id, event.message_id) == ("welcome", "hello", mid)
    assert event.data == {"source": "dsn", "report": out_key(raw), "via": "verp", "hard": True, "status": "5.1.1",
                          "suppressed": "hard_bounce"}
    assert "ana@" not in str(event.data)


def out_key(raw: bytes) -> str:
    return parse_report(raw).key


def test_the_same_report_twice_is_acted_on_once(store) -> None:
    contact_id, [mid] = sent(store)
    raw = filled("postfix_dsn_template.eml", rcpt="ana@example.com", message_id=mid)
    assert run(store, parse_report(raw)).status == "applied"
    again = run(store, parse_report(raw))
    assert again.status == "duplicate"
    assert len(store.events_for(contact_id, type="email.bounced")) == 1


def test_a_quoted_message_id_matches_only_when_the_report_names_the_contacts_address(store) -> None:
    contact_id, [mid] = sent(store)
    other = run(store, parse_report(filled("postfix_dsn_template.eml", rcpt="someone@else.example", message_id=mid)))
    assert other.status == "unmatched" and "another address" in other.detail
    assert store.suppression_reason("email", "someone@else.example") is None
    mine = run(store, parse_report(filled("postfix_dsn_template.eml", rcpt="ANA@example.com", message_id=mid)))
    assert mine.status == "applied" and mine.suppressed == "hard_bounce"


def test_a_forged_verp_address_matches_nothing(store) -> None:
    contact_id, [mid] = sent(store)
    forged = verp_address(tokens.TokenSigner([b"f" * 32]), mid, contact_id, "northwind.example")
    out = run(store, parse_report(filled("postfix_dsn_template.eml", verp=forged, rcpt="x@y.example",
                                         message_id="<nothing@here>")))
    assert out.status == "unmatched"
    assert store.suppression_reason("email", "ana@example.com") is None and not store.feedback_report_seen(
        parse_report(filled("postfix_dsn_template.eml", verp=forged, rcpt="x@y.example", message_id="<nothing@here>")).key)


def test_soft_bounces_suppress_at_the_limit(store) -> None:
    contact_id, mids = sent(store, n=3)
    policy = BouncePolicy(soft_limit=3, soft_days=30)
    for i, mid in enumerate(mids):
        out = run(store, Feedback("bounce", f"esp:test:{i}", "esp:test", hard=False, status="5.2.2", message_ids=(mid,)),
                  policy)
        assert out.status == "applied"
        assert out.suppressed == (None if i < 2 else "soft_bounces")
    assert store.suppression_reason("email", "ana@example.com") == "soft_bounces"
    assert [e.data["hard"] for e in store.events_for(contact_id, type="email.bounced")] == [False] * 3


def test_a_complaint_suppresses_and_withdraws_consent_with_the_report_as_proof(store) -> None:
    contact_id, [mid] = sent(store)
    verp = verp_address(SIGNER, mid, contact_id, "northwind.example")
    raw = filled("arf_yahoo_shape.eml", verp=verp, rcpt="redacted@yahoo.example", message_id=mid)
    out = run(store, parse_report(raw))
    assert out.status == "applied" and out.suppressed == "complaint" and out.consent_withdrawn
    assert store.suppression_reason("email", "ana@example.com") == "complaint"
    state = store.consent_state(contact_id, "email", "marketing")
    assert state.status == "withdrawn" and state.source == "arf"
    [log] = [e for e in store.consent_history(contact_id) if e.status == "withdrawn"]
    assert log.evidence == {"report": parse_report(raw).key, "source": "arf", "kind": "complaint",
                            "feedback_type": "abuse", "message_id": mid,
                            "report_fields": {"User-Agent": "Yahoo!-Mail-Feedback/2.0", "Version": "0.1",
                                              "Received-Date": "Wed, 22 Jan 2020 03:38:34 +0000",
                                              "Reported-Domain": "northwind.example"}}
    [event] = store.events_for(contact_id, type="email.complained")
    assert event.data["feedback_type"] == "abuse" and event.message_id == mid


def test_a_report_for_an_unknown_message_changes_nothing(store) -> None:
    contact_id, _ = sent(store)
    out = run(store, Feedback("complaint", "esp:test:x", "esp:test", message_ids=("<" + "f" * 32 + "@nurture.local>",)))
    assert out.status == "unmatched"
    assert store.consent_state(contact_id, "email", "marketing").status == "granted"
    assert store.events_for(contact_id, type="email.complained") == []


def test_the_event_names() -> None:
    assert bounces.EVENTS == {"bounce": "email.bounced", "complaint": "email.complained",
                              "unsubscribe": "email.unsubscribed", "delivery": "email.delivered"}


def test_a_journey_may_wait_for_a_complaint(tmp_path) -> None:
    from compiler.compile import compile_file

    path = tmp_path / "t.yaml"
    path.write_text("journey: t\nentry: {manual: true}\npolicy: {consent: {email: marketing}}\nsteps:\n"
                    "  - id: w\n    type: wait_for\n    events:\n      - {event: email.complained, next: end}\n"
                    "    timeout: 1h\n    on_timeout: end\n")
    result = compile_file(path)
    assert result.journey is not None, [str(e) for e in result.errors]


def test_a_verp_token_finds_a_message_of_another_message_domain(store) -> None:
    """The token keeps only the Message-ID's hex: a message sent under an earlier
    NURTURE_MESSAGE_DOMAIN is still found (by prefix)."""
    contact_id = store.create_contact(email="old@example.com")
    mid = "<" + "9" * 32 + "@old-domain.example>"
    store.save_message(mid, contact_id=contact_id, journey_id="j", step_id="s", channel="email", links=[])
    verp = verp_address(SIGNER, mid, contact_id, "northwind.example")
    out = run(store, Feedback("bounce", "t:old", "dsn", hard=True, verp=(verp,)))
    assert out.status == "applied" and out.message_id == mid
