"""Reading real-world bounces and complaints (tests/fixtures/bounces) into Feedback."""

from __future__ import annotations

import pytest

from marketing.bounce_mail import NotAReport, is_hard, parse_report
from tests.bounce_samples import filled, sample

# file -> (source, hard, status, recipients)
BOUNCES = {
    "postfix_01.eml": ("bounce", True, "5.1.1", ("xxxxx@local.ie",)),
    "qmail_01.eml": ("bounce", True, "", ("userx@example.de",)),
    "microsoft_01.eml": ("bounce", True, "", ("userx@example.COM",)),
    "simple_17.eml": ("bounce", True, "", ("userx@example.com",)),
    "dsn_04.eml": ("dsn", True, "5.0.0", ("HAASM@yogi.urz.example.ch",)),
    "simple_42.eml": ("dsn", False, "5.7.1", ("david...@gmail.com",)),  # Gmail's spam block: about us, not the address
    "yahoo_01.eml": ("bounce", False, "4.4.1", ("userx@example.com",)),  # queue timeout
    "dsn_01.eml": ("dsn", False, "5.0.0", ("userx@sims-ms-daemon",)),  # "recipient reached disk quota"
}


@pytest.mark.parametrize("name", sorted(BOUNCES))
def test_real_bounces_are_read_with_their_kind_and_recipients(name: str) -> None:
    fb = parse_report(sample(name))
    assert (fb.kind, fb.source, fb.hard, fb.status, fb.recipients) == ("bounce", *BOUNCES[name])
    assert fb.key.startswith("mail:") and len(fb.key) == 45


def test_a_delay_warning_is_not_a_bounce() -> None:
    with pytest.raises(NotAReport, match="delay warning"):
        parse_report(sample("simple_28.eml"))


def test_other_mail_is_not_a_report() -> None:
    with pytest.raises(NotAReport, match="not a bounce"):
        parse_report(b"From: ana@example.com\r\nSubject: thanks!\r\n\r\nSee you soon.\r\n")


def test_the_rfc_5965_example_is_a_complaint() -> None:
    fb = parse_report(sample("arf_rfc5965.eml"))
    assert (fb.kind, fb.source, fb.feedback_type, fb.recipients) == ("complaint", "arf", "abuse", ("user@example.com",))


def test_a_not_spam_feedback_report_is_not_a_complaint() -> None:
    raw = sample("arf_rfc5965.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    with pytest.raises(NotAReport, match="not-spam"):
        parse_report(raw)


def test_the_verp_address_and_our_message_id_are_found_but_not_the_reports_own_id() -> None:
    verp = "bounce+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijklmn@northwind.example"
    mid = "<0123456789abcdef0123456789abcdef@nurture.local>"
    fb = parse_report(filled("postfix_dsn_template.eml", verp=verp, rcpt="ana@example.com", message_id=mid))
    assert (fb.kind, fb.source, fb.hard, fb.status) == ("bounce", "dsn", True, "5.1.1")
    assert fb.verp == (verp,) and fb.message_ids == (mid,) and fb.recipients == ("ana@example.com",)
    arf = parse_report(filled("arf_yahoo_shape.eml", verp=verp, rcpt="ana@example.com", message_id=mid),
                       envelope_rcpts=("fbl@northwind.example",))
    assert arf.kind == "complaint" and arf.message_ids == (mid,) and arf.verp == ("fbl@northwind.example", verp)


def test_the_same_report_has_the_same_key_and_another_report_another() -> None:
    assert parse_report(sample("dsn_04.eml")).key == parse_report(sample("dsn_04.eml")).key
    assert parse_report(sample("dsn_04.eml")).key != parse_report(sample("dsn_01.eml")).key


@pytest.mark.parametrize("status, hard", [("5.1.1", True), ("5.1.10", True), ("5.0.0", True), ("5.2.1", True),
                                          ("5.4.4", True), ("5.2.2", False), ("5.7.1", False), ("5.6.0", False),
                                          ("4.2.2", False), ("", False)])
def test_which_statuses_are_hard(status: str, hard: bool) -> None:
    assert is_hard(status) is hard
