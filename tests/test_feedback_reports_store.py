"""store: feedback reports are handled once, on SQLite and PostgreSQL."""

from __future__ import annotations


def test_a_report_is_claimed_once(store) -> None:
    assert store.claim_feedback_report("ses:0100018c-abc", "bounce") is True
    assert store.claim_feedback_report("ses:0100018c-abc", "bounce") is False
    assert store.feedback_report_seen("ses:0100018c-abc")
    assert not store.feedback_report_seen("ses:other")


def test_a_claim_rolls_back_with_its_transaction(store) -> None:
    try:
        with store.transaction():
            store.claim_feedback_report("dsn:1234", "bounce")
            raise RuntimeError("the report's effects failed")
    except RuntimeError:
        pass
    assert store.claim_feedback_report("dsn:1234", "bounce") is True


def test_soft_bounces_is_a_suppression_reason(store) -> None:
    store.suppress("email", "Soft@Example.com", reason="soft_bounces", source="3 soft bounces in 30 days")
    assert store.suppression_reason("email", "soft@example.com") == "soft_bounces"


def test_sending_yaml_sets_the_soft_bounce_limit(tmp_path) -> None:
    from compiler.sending_model import BouncePolicy, check_sending_file, load_sending_rules

    assert load_sending_rules("journeys/sending.yaml").bounces == BouncePolicy(3, 30)
    path = tmp_path / "sending.yaml"
    path.write_text("channels: {}\nbounces: {soft_limit: 5, soft_days: 7}\n")
    assert load_sending_rules(path).bounces == BouncePolicy(5, 7)
    path.write_text("channels: {}\nbounces: {soft_limit: 0}\n")
    rules, errors = check_sending_file(path)
    assert rules is None and "bounces.soft_limit: 0 is less than the minimum of 1" in str(errors[0])
