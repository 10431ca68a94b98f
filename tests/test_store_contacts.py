"""Contacts: identity, normalisation, attributes, tags, stage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timezone

import pytest

from store import Store, StoreError
from store.records import ContactNotFound


def test_create_and_get_normalises_and_keeps_everything(store: Store) -> None:
    cid = store.create_contact(
        email="  Ana.Garcia@Example.COM ", phone="+34 600 111 222", external_id="crm-1",
        first_name="Ana", last_name="García", locale="es", timezone="Europe/Madrid", stage="lead",
        attributes={"plan": "team", "seats": 5}, tags=["webinar", "b2b", "webinar"],
    )
    c = store.get_contact(cid)
    assert c is not None
    assert (c.id, c.external_id, c.email, c.phone) == (cid, "crm-1", "ana.garcia@example.com", "+34600111222")
    assert (c.first_name, c.last_name, c.locale, c.timezone, c.stage) == ("Ana", "García", "es", "Europe/Madrid", "lead")
    assert c.attributes == {"plan": "team", "seats": 5}
    assert c.tags == ["b2b", "webinar"]
    assert c.erased_at is None
    assert c.created_at.tzinfo is timezone.utc and c.updated_at.tzinfo is timezone.utc
    assert [(h.from_stage, h.to_stage, h.reason) for h in store.stage_history(cid)] == [(None, "lead", "created")]


def test_get_unknown_is_none_and_bad_id_is_clear(store: Store) -> None:
    assert store.get_contact(999_999) is None
    with pytest.raises(StoreError, match="contact id must be an integer"):
        store.get_contact("1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "invalid email"),
        ({"phone": "600111222"}, "international form"),
        ({"phone": "+34 1"}, "invalid phone"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"attributes": ["x"]}, "attributes must be a dict"),
        ({"tags": "webinar"}, "tags must be a list"),
    ],
)
def test_bad_input_is_refused_clearly(store: Store, fields: dict, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.create_contact(**fields)
    assert store.contact_ids() == []


def test_external_id_is_unique(store: Store) -> None:
    store.create_contact(external_id="crm-7")
    with pytest.raises(StoreError, match="already exists"):
        store.create_contact(external_id="crm-7", email="x@example.com")
    other = store.create_contact(external_id="crm-8")
    with pytest.raises(StoreError, match="already used"):
        store.update_contact(other, external_id="crm-7")
    assert len(store.contact_ids()) == 2


def test_find_by_external_id_email_phone(store: Store) -> None:
    a = store.create_contact(email="a@example.com", external_id="A")
    b = store.create_contact(phone="+447911123456")
    assert store.find_contact(external_id="A").id == a
    assert store.find_contact(email="  A@EXAMPLE.com").id == a
    assert store.find_contact(phone="+44 7911 123456").id == b
    assert store.find_contact(email="nobody@example.com") is None
    assert store.find_contact(external_id="nope", email="a@example.com").id == a  # falls through in order
    with pytest.raises(StoreError, match="needs external_id, email or phone"):
        store.find_contact()


def test_update_contact(store: Store) -> None:
    cid = store.create_contact(email="old@example.com")
    before = store.get_contact(cid).updated_at
    store.update_contact(cid, email="New@Example.com", first_name="Bo", timezone="America/New_York")
    c = store.get_contact(cid)
    assert (c.email, c.first_name, c.timezone) == ("new@example.com", "Bo", "America/New_York")
    assert c.updated_at > before
    with pytest.raises(StoreError, match="use set_stage"):
        store.update_contact(cid, stage="sql")
    with pytest.raises(StoreError, match="unknown contact field"):
        store.update_contact(cid, colour="red")
    with pytest.raises(ContactNotFound):
        store.update_contact(424242, first_name="X")


def test_set_attributes_merges_and_none_removes(store: Store) -> None:
    cid = store.create_contact(attributes={"plan": "free", "seats": 1, "trial_ends": "2025-01-31"})
    merged = store.set_attributes(cid, {"plan": "team", "seats": None, "nested": {"a": [1, 2]}})
    assert merged == {"plan": "team", "trial_ends": "2025-01-31", "nested": {"a": [1, 2]}}
    assert store.get_contact(cid).attributes == merged


def test_tags_add_remove_idempotent(store: Store) -> None:
    cid = store.create_contact(tags=["a"])
    store.add_tags(cid, ["b", "a", "c"])
    store.add_tags(cid, ["b"])
    assert store.get_contact(cid).tags == ["a", "b", "c"]
    store.remove_tags(cid, ["a", "zzz"])
    assert store.get_contact(cid).tags == ["b", "c"]
    with pytest.raises(StoreError, match="tag must be a non-empty string"):
        store.add_tags(cid, [""])


def test_set_stage_returns_previous_and_writes_history(store: Store) -> None:
    cid = store.create_contact()
    assert store.set_stage(cid, "lead", reason="signed up") is None
    assert store.set_stage(cid, "mql", reason="score 45 >= 40") == "lead"
    assert store.set_stage(cid, "mql", reason="again") == "mql"  # no change, no history row
    assert store.get_contact(cid).stage == "mql"
    history = store.stage_history(cid)
    assert [(h.from_stage, h.to_stage, h.reason) for h in history] == [
        (None, "lead", "signed up"), ("lead", "mql", "score 45 >= 40")]
    assert all(h.at.tzinfo is timezone.utc for h in history)
    with pytest.raises(StoreError, match="reason must be a non-empty string"):
        store.set_stage(cid, "sql", reason="")


def test_an_earlier_external_id_stays_an_alias_everywhere(store: Store) -> None:
    cid = store.create_contact(external_id="crm-101", email="maria@example.com")
    other = store.create_contact(external_id="crm-200")
    store.update_contact(cid, external_id="crm-103")
    assert store.get_contact(cid).external_id == "crm-103"
    assert [a["external_id"] for a in store.contact_aliases(cid)] == ["crm-101"]
    assert store.find_contact(external_id="crm-101").id == cid  # the old id still finds the contact
    assert store.find_contact(external_id="crm-103").id == cid
    assert store.contact_ids_by("external_id", ["crm-101", "crm-103", "crm-200", "nope"]) == {
        "crm-101": cid, "crm-103": cid, "crm-200": other}
    assert store.add_alias(cid, "crm-099", source="test") and not store.add_alias(cid, "crm-099", source="test")
    for taken in ("crm-101", "crm-099"):  # an alias is as taken as a current id
        with pytest.raises(StoreError, match="already exists"):
            store.create_contact(external_id=taken)
        with pytest.raises(StoreError, match="already used"):
            store.update_contact(other, external_id=taken)
    with pytest.raises(StoreError, match="already used"):
        store.add_alias(other, "crm-103", source="test")
    store.update_contact(cid, external_id="crm-101")  # back to an alias: it becomes current again
    assert sorted(a["external_id"] for a in store.contact_aliases(cid)) == ["crm-099", "crm-103"]
    assert store.external_id_owners() == {"crm-099": cid, "crm-103": cid}
    store.update_contact(cid, external_id=None)  # cleared: still an alias
    assert store.get_contact(cid).external_id is None and store.find_contact(external_id="crm-101").id == cid


@pytest.mark.parametrize("bad", ["Ana\r\nBcc: victim@example.com", "Ana\nBcc: x", "Ana\x00", "Ana\tRuiz", "Ana\x1b[31m",
                                 "Ana\x85", "Ana\u2028Bcc: x"])
def test_names_with_control_characters_are_refused_and_never_stored(store: Store, bad: str) -> None:
    with pytest.raises(StoreError, match="first_name contains a control character"):
        store.create_contact(email="ana@example.com", first_name=bad)
    assert store.contact_ids() == []
    cid = store.create_contact(email="ana@example.com", first_name="Ana")
    for fields in ({"first_name": bad}, {"last_name": bad}, {"external_id": bad}, {"attributes": {"company": bad}}):
        if fields.get("attributes") and "\t" in bad:
            continue  # a TAB is allowed in a text attribute
        with pytest.raises(StoreError, match="contains a control character"):
            store.update_contact(cid, **fields)
    if "\t" not in bad:
        with pytest.raises(StoreError, match="attributes.title contains a control character"):
            store.set_attributes(cid, {"title": {"nested": [bad]}})
    with pytest.raises(StoreError, match="tag contains a control character"):
        store.add_tags(cid, [bad])
    c = store.get_contact(cid)
    assert (c.first_name, c.last_name, c.external_id, c.attributes, c.tags) == ("Ana", None, None, {}, [])


def test_names_are_kept_as_given_in_nfc(store: Store) -> None:
    decomposed = "Mari\u0301a"  # "María" with a combining accent
    cid = store.create_contact(first_name=decomposed, last_name="Ñúñez-O'Brien", attributes={"note": "a\tb"})
    c = store.get_contact(cid)
    assert (c.first_name, c.last_name, c.attributes) == ("María", "Ñúñez-O'Brien", {"note": "a\tb"})
    assert c.first_name.encode() == "Mar\u00eda".encode()


def test_export_lists_the_aliases_and_erasure_deletes_them(store: Store) -> None:
    cid = store.create_contact(external_id="crm-101", email="maria@example.com")
    store.update_contact(cid, external_id="crm-103")
    exported = store.export_contact(cid)
    assert [a["external_id"] for a in exported["external_id_aliases"]] == ["crm-101"]
    assert isinstance(exported["external_id_aliases"][0]["added_at"], str)  # JSON-ready
    removed = store.erase_contact(cid)
    assert removed["contact_aliases"] == 1
    assert store.contact_aliases(cid) == [] and store.find_contact(external_id="crm-101") is None
    assert store.export_contact(cid)["external_id_aliases"] == []
    assert store.create_contact(external_id="crm-101") != cid  # the id is free again: nothing links it to the person
