"""engine.identify: the contact upsert behind /v1/identify and the forms, and the anonymous-to-known
merge (store/ingest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.identify import IdentifyError, identify
from marketing.scoring import rebuild
from marketing.scoring_model import load_scoring
from store import StoreError
from tests.tracking_helpers import ROOT, counts

SCORING = load_scoring(ROOT / "journeys" / "scoring.yaml")
NOW = datetime.now(timezone.utc)


def visit(store, cid: int, days_ago: float, path: str = "/pricing") -> int:
    """A page visit as the live path stores and scores it."""
    event_id = store.record_event(cid, "page.visited", data={"url": f"https://example.com{path}", "path": path},
                                  at=NOW - timedelta(days=days_ago))
    rebuild(store, SCORING, cid)
    return event_id


def test_identify_creates_then_updates_by_user_id(store):
    cid = identify(store, user_id="crm-777", anonymous_id=None,
                   traits={"email": " Ada@Example.COM ", "firstName": "Ada", "last_name": "Lovelace",
                           "phone": "+14155550123", "company": {"name": "Analytical"}, "plan": "trial",
                           "consent": True},
                   context={"locale": "en-GB", "timezone": "Europe/London"})
    c = store.get_contact(cid)
    assert (c.external_id, c.email, c.first_name, c.last_name, c.phone) == \
        ("crm-777", "ada@example.com", "Ada", "Lovelace", "+14155550123")
    assert (c.locale, c.timezone) == ("en-GB", "Europe/London")
    assert c.attributes == {"company": {"name": "Analytical"}, "plan": "trial", "consent": True}
    assert store.consent_history(cid) == []  # a trait never grants consent
    again = identify(store, user_id="crm-777", anonymous_id=None, traits={"plan": "team", "firstName": "Augusta"},
                     context={"locale": "fr-FR"})
    c = store.get_contact(again)
    assert again == cid and c.first_name == "Augusta" and c.attributes["plan"] == "team"
    assert c.locale == "en-GB"  # the context fills an empty locale only


def test_identify_finds_by_email_and_gives_it_the_user_id(store):
    cid = store.create_contact(email="grace@example.com")
    assert identify(store, user_id="crm-1", anonymous_id=None, traits={"email": "GRACE@example.com"}) == cid
    assert store.get_contact(cid).external_id == "crm-1"
    other = store.create_contact(email="kay@example.com", external_id="crm-2")
    # the email's contact has another CRM id: a new contact, not a takeover
    assert identify(store, user_id="crm-3", anonymous_id=None, traits={"email": "kay@example.com"}) != other


@pytest.mark.parametrize("traits,path", [
    ({"email": "not an address"}, "traits.email"),
    ({"phone": "12"}, "traits.phone"),
    ({"firstName": "Ada\r\nBcc: x@example.com"}, "traits.firstName"),
    ({"lastName": 7}, "traits.lastName"),
    ({"timezone": "Mars/Olympus"}, "traits.timezone"),
    ({"nickname": "a\x00b"}, "traits.nickname"),
    ([1, 2], "traits"),
], ids=["email", "phone", "name-crlf", "name-number", "timezone", "attribute-nul", "not-object"])
def test_invalid_traits_name_their_path_and_store_nothing(store, traits, path):
    before = (counts(store), store.contact_ids(include_erased=True))
    with pytest.raises(IdentifyError) as info:
        identify(store, user_id="crm-9", anonymous_id="anon-9", traits=traits)
    assert info.value.path == path
    assert (counts(store), store.contact_ids(include_erased=True)) == before
    assert store.contact_of_anonymous_id("anon-9") is None


def test_bad_user_id_and_nobody_named(store):
    with pytest.raises(IdentifyError, match="userId"):
        identify(store, user_id=None, anonymous_id=None, traits={"plan": "x"})
    with pytest.raises(IdentifyError, match="userId"):
        identify(store, user_id={"id": 1}, anonymous_id=None)
    assert identify(store, user_id=12345, anonymous_id=None) == store.find_contact(external_id="12345").id


def test_anonymous_profile_then_named_keeps_its_history(store):
    anon = identify(store, user_id=None, anonymous_id="a-1", traits={})
    assert store.is_anonymous(anon) and identify(store, user_id=None, anonymous_id="a-1") == anon
    for days in (3, 2, 1):
        visit(store, anon, days)
    assert store.get_scores(anon)["global"] == 30
    cid = identify(store, user_id="crm-777", anonymous_id="a-1", traits={"email": "ada@example.com"})
    assert cid == anon and not store.is_anonymous(cid)  # named: the profile itself becomes the contact
    assert store.get_contact(cid).external_id == "crm-777" and store.get_scores(cid)["global"] == 30


def test_merge_into_known_contact_exactly_once(store):
    known = store.create_contact(external_id="crm-777", email="ada@example.com")
    visit(store, known, 40, "/docs")
    first = identify(store, user_id=None, anonymous_id="a-1")
    second = identify(store, user_id=None, anonymous_id="a-2")
    visit(store, first, 20)
    visit(store, second, 2)
    store.add_tags(first, ["pricing-curious"])
    assert identify(store, user_id="crm-777", anonymous_id="a-1") == known
    history = store.score_history(known)
    assert [e.type for e in store.events_for(known)] == ["page.visited"] * 2
    assert store.get_scores(known)["global"] == 10
    assert identify(store, user_id="crm-777", anonymous_id="a-1", traits={"email": "ada@example.com"}) == known
    assert store.score_history(known) == history  # a repeated identify changes nothing
    assert identify(store, user_id=None, anonymous_id="a-2", traits={"email": "ada@example.com"}) == known
    assert len(store.events_for(known)) == 3 and store.get_scores(known)["global"] == 20
    assert store.anonymous_ids_of(known) == ["a-1", "a-2"] and "pricing-curious" in store.get_contact(known).tags
    for gone in (first, second):
        assert store.get_contact(gone).erased_at is not None and store.events_for(gone) == []
        assert store.erasure_audit(gone)["summary"]["merged_into"] == known
    with pytest.raises(StoreError, match="erased"):  # merged once: a tombstone now
        store.merge_anonymous(first, known)
    assert identify(store, user_id=None, anonymous_id="a-1") == known  # later visits are the contact's


def test_anonymous_id_of_another_known_contact_is_left_alone(store):
    ada = identify(store, user_id="crm-1", anonymous_id="shared-device")
    bob = identify(store, user_id="crm-2", anonymous_id="shared-device")
    assert ada != bob and store.contact_of_anonymous_id("shared-device") == ada


def test_purge_erases_only_stale_anonymous_profiles(store):
    stale = identify(store, user_id=None, anonymous_id="old", at=NOW - timedelta(days=100))
    visit(store, stale, 100)
    fresh = identify(store, user_id=None, anonymous_id="new", at=NOW - timedelta(days=5))
    known = identify(store, user_id="crm-1", anonymous_id=None)
    store.set_attributes(known, {"x": 1})
    assert store.purge_anonymous(NOW - timedelta(days=90)) == 1
    assert store.get_contact(stale).erased_at is not None and store.events_for(stale) == []
    assert store.contact_of_anonymous_id("old") is None and store.contact_of_anonymous_id("new") == fresh
    assert store.get_contact(fresh).erased_at is None and store.get_contact(known).erased_at is None
    identify(store, user_id=None, anonymous_id="new", at=NOW)  # activity restarts its clock
    assert store.purge_anonymous(NOW - timedelta(days=1)) == 0


def test_message_ids_are_claimed_once_per_key(store):
    assert store.claim_message("wk:a", "m-1") and not store.claim_message("wk:a", "m-1")
    assert store.claim_message("wk:b", "m-1")
    with pytest.raises(RuntimeError):
        with store.transaction():
            assert store.claim_message("wk:a", "m-2")
            raise RuntimeError("the message failed")
    assert store.claim_message("wk:a", "m-2")  # rolled back with the message


def test_merged_visits_make_the_known_contact_a_segment_member(store):
    from marketing.segments import load_segments, segment_members

    segments = load_segments(ROOT / "journeys" / "segments.yaml")
    known = store.create_contact(external_id="crm-777", email="ada@example.com")
    anon = identify(store, user_id=None, anonymous_id="a-1")
    for days in (3, 2, 1):
        visit(store, anon, days)
    assert segment_members(store, "pricing-interest", segments=segments) == []  # anonymous: not listed
    identify(store, user_id="crm-777", anonymous_id="a-1")
    identify(store, user_id="crm-777", anonymous_id="a-1")
    assert segment_members(store, "pricing-interest", segments=segments) == [known]
    assert store.get_scores(known)["global"] == 30


def test_fast_path_finds_earlier_external_ids_and_skips_erased(store):
    cid = store.create_contact(external_id="crm-old")
    store.update_contact(cid, external_id="crm-new")
    assert identify(store, user_id="crm-old", anonymous_id=None) == cid
    assert identify(store, user_id="crm-new", anonymous_id=None) == cid
    store.erase_contact(cid)
    fresh = identify(store, user_id="crm-new", anonymous_id=None)
    assert fresh != cid and store.get_contact(fresh).external_id == "crm-new"


def test_claiming_stores_the_message_id_with_its_event_once(store):
    from store.ingest import AlreadyProcessed

    cid = store.create_contact(external_id="crm-1")
    with store.claiming("wk:a", "m-1"):
        store.record_event(cid, "x.y")
        store.record_event(cid, "rule.fired")  # what a hook adds after: claims nothing
    with pytest.raises(AlreadyProcessed), store.claiming("wk:a", "m-1"):
        store.record_event(cid, "x.y")
    assert [e.type for e in store.events_for(cid)] == ["x.y", "rule.fired"]
    assert not store.claim_message("wk:a", "m-1")
