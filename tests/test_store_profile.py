"""Scores with their history, the profile journeys read, and the template context."""

from __future__ import annotations

import json

import pytest

from compiler.conditions import evaluate
from store import Store, StoreError
from store.records import ContactNotFound


def test_scores_add_set_levels_and_history(store: Store) -> None:
    cid = store.create_contact()
    assert store.get_scores(cid) == {}
    assert store.add_score(cid, 10, reason="rule:opened_email") == 10
    assert store.add_score(cid, 25, reason="rule:visited_pricing") == 35
    assert store.add_score(cid, -5, reason="decay") == 30
    assert store.add_score(cid, 7, level="mql", reason="rule:demo") == 7
    assert store.set_score(cid, 50, reason="manual fix") == 50
    assert store.get_scores(cid) == {"global": 50, "mql": 7}
    history = [(h.level, h.delta, h.value, h.reason) for h in store.score_history(cid)]
    assert history == [
        ("global", 10, 10, "rule:opened_email"),
        ("global", 25, 35, "rule:visited_pricing"),
        ("global", -5, 30, "decay"),
        ("mql", 7, 7, "rule:demo"),
        ("global", 20, 50, "manual fix"),
    ]
    assert [h.value for h in store.score_history(cid, level="mql")] == [7]


def test_score_input_is_checked(store: Store) -> None:
    cid = store.create_contact()
    with pytest.raises(StoreError, match="points must be an integer"):
        store.add_score(cid, 1.5, reason="x")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="reason must be a non-empty string"):
        store.add_score(cid, 1, reason="")
    with pytest.raises(ContactNotFound):
        store.add_score(123456, 1, reason="x")
    assert store.score_history(cid) == []


@pytest.mark.parametrize(("score", "expected"), [(0, "cold"), (39, "cold"), (40, "warm"), (69, "warm"), (70, "hot")])
def test_temperature_thresholds(store: Store, score: int, expected: str) -> None:
    cid = store.create_contact()
    store.set_score(cid, score, reason="test")
    assert store.read_profile(cid)["temperature"] == expected


def test_read_profile_shape_and_no_personal_data(store: Store) -> None:
    cid = store.create_contact(
        email="ana@example.com", phone="+34600111222", first_name="Ana", last_name="Lopez",
        external_id="crm-42", locale="es", timezone="Europe/Madrid", stage="mql",
        attributes={"plan": "team"}, tags=["webinar"],
    )
    store.add_score(cid, 60, reason="import")
    store.add_score(cid, 5, level="webinar", reason="rule")
    store.record_consent(cid, "email", "marketing", "granted", source="form")
    store.record_consent(cid, "email", "profiling", "withdrawn", source="form")
    store.record_consent(cid, "sms", "marketing", "granted", source="form")
    store.record_consent(cid, "sms", "marketing", "withdrawn", source="STOP reply")
    profile = store.read_profile(cid)
    assert profile == {
        "score": 60,
        "scores": {"global": 60, "webinar": 5},
        "temperature": "warm",
        "stage": "mql",
        "tags": ["webinar"],
        "attributes": {"plan": "team"},
        "consent": {"email": True, "sms": False},
        "consent_purposes": {"email": {"marketing": "granted", "profiling": "withdrawn"},
                             "sms": {"marketing": "withdrawn"}},
        "locale": "es",
        "timezone": "Europe/Madrid",
    }
    dumped = json.dumps(profile)
    for personal in ("ana@example.com", "+34600111222", "Ana", "Lopez", "crm-42"):
        assert personal not in dumped
    # the condition language reads it as documented
    assert evaluate('temperature == "warm" and "webinar" in tags and consent.email', profile) is True
    assert evaluate("scores.webinar >= 5 and not consent.sms", profile) is True
    assert store.read_profile(cid, thresholds=(10, 50))["temperature"] == "hot"


def test_read_profile_defaults_and_errors(store: Store) -> None:
    cid = store.create_contact()
    assert store.read_profile(cid) == {
        "score": 0, "scores": {}, "temperature": "cold", "stage": "", "tags": [], "attributes": {},
        "consent": {}, "consent_purposes": {}, "locale": "", "timezone": "",
    }
    with pytest.raises(ContactNotFound, match="no contact with id 99999"):
        store.read_profile(99999)
    with pytest.raises(StoreError, match="ascending"):
        store.read_profile(cid, thresholds=(70, 40))


def test_template_context_has_contact_and_profile(store: Store) -> None:
    cid = store.create_contact(email="bo@example.com", first_name="Bo", locale="pl", stage="lead", tags=["x"])
    ctx = store.template_context(cid)
    assert ctx["contact"] == {
        "id": cid, "external_id": None, "email": "bo@example.com", "phone": None, "first_name": "Bo",
        "last_name": None, "locale": "pl", "timezone": None,
    }
    assert (ctx["stage"], ctx["tags"], ctx["temperature"], ctx["score"]) == ("lead", ["x"], "cold", 0)


def test_add_score_is_atomic_across_threads(store: Store) -> None:
    """Activities call the store from worker threads at once: no lost updates."""
    from concurrent.futures import ThreadPoolExecutor

    cid = store.create_contact()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: store.add_score(cid, 1, reason=f"hit {i}"), range(60)))
    assert store.get_scores(cid) == {"global": 60}
    assert sorted(h.value for h in store.score_history(cid)) == list(range(1, 61))
