"""Segments evaluated in SQL on SQLite and PostgreSQL: every condition kind, combinators,
the shipped file, the sweep's added/removed, and clear errors for bad files."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from compiler.config_file import ConfigError
from marketing.segments import (
    SegmentError,
    load_segments,
    segment_members,
    sweep,
    validate_segments_file,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def segs(tmp_path: Path, body: str):
    path = tmp_path / "segments.yaml"
    path.write_text("segments:\n" + body, encoding="utf-8")
    return load_segments(path)


def one(tmp_path: Path, where: str):
    return segs(tmp_path, f"  - id: s\n    where: {where}\n")


def members(store, segments, seg="s"):
    return segment_members(store, seg, now=NOW, segments=segments)


@pytest.fixture
def people(store):
    """ana: team plan, 42 seats, lead, score 85, tags vip + source:crm
    ben: trial plan, 3 seats, customer, score 10, tag source:shop
    cy: no attributes, no stage, no score, no tags
    """
    ana = store.create_contact(email="ana@example.com", stage="lead", tags=["vip", "source:crm"],
                               attributes={"plan": "team", "seats": 42, "beta": True, "company": "Acme_Co"})
    ben = store.create_contact(email="ben@example.com", stage="customer", tags=["source:shop"],
                               attributes={"plan": "trial", "seats": 3, "beta": False, "company": "100% Co"})
    cy = store.create_contact(email="cy@example.com")
    store.add_score(ana, 85, reason="test")
    store.add_score(ana, 30, level="mql", reason="test")
    store.add_score(ben, 10, reason="test")
    return ana, ben, cy


@pytest.mark.parametrize("where, expected", [
    ("{attribute: plan, equals: team}", "a"),
    ("{attribute: plan, not_equals: team}", "bc"),
    ("{attribute: plan, in: [team, trial]}", "ab"),
    ("{attribute: company, contains: acme}", "a"),
    ("{attribute: company, contains: '100%'}", "b"),      # LIKE wildcards are literal
    ("{attribute: company, contains: '_'}", "a"),
    ("{attribute: company, starts_with: Acme}", "a"),
    ("{attribute: seats, gt: 3}", "a"),
    ("{attribute: seats, gte: 3}", "ab"),
    ("{attribute: seats, lt: 42, gte: 1}", "b"),
    ("{attribute: seats, equals: 42}", "a"),
    ("{attribute: plan, gt: 1}", ""),                       # text is never a number (no cast error)
    ("{attribute: beta, equals: true}", "a"),
    ("{attribute: beta, equals: false}", "b"),
    ("{attribute: seats, exists: true}", "ab"),
    ("{attribute: seats, exists: false}", "c"),
    ("{tag: vip}", "a"),
    ("{tag_prefix: 'source:'}", "ab"),
    ("{stage: customer}", "b"),
    ("{stage: [lead, customer]}", "ab"),
    ("{score: {gte: 80}}", "a"),
    ("{score: {lt: 20}}", "bc"),                            # no score counts as 0
    ("{score: {gte: 30}, level: mql}", "a"),
    ("{all: [{tag_prefix: 'source:'}, {score: {lt: 50}}]}", "b"),
    ("{any: [{tag: vip}, {stage: customer}]}", "ab"),
    ("{not: {attribute: plan, equals: team}}", "bc"),       # missing attribute: not(team) holds
])
def test_profile_conditions(store, people, tmp_path, where, expected):
    ids = dict(zip("abc", people))
    assert members(store, one(tmp_path, where)) == [ids[k] for k in expected]


def test_behaviour_counts_matching_events_in_the_window(store, people, tmp_path):
    ana, ben, cy = people
    for days, url in ((1, "https://x.com/pricing"), (5, "https://x.com/pricing?plan=team"), (13, "/PRICING")):
        store.record_event(ana, "page.visited", data={"url": url}, at=NOW - timedelta(days=days))
    for days, url in ((1, "/pricing"), (2, "/pricing"), (20, "/pricing"), (3, "/blog")):
        store.record_event(ben, "page.visited", data={"url": url}, at=NOW - timedelta(days=days))
    store.record_event(cy, "page.visited", data={}, at=NOW)
    segments = segs(tmp_path, "  - id: s\n    where: {event: page.visited, where: [{field: url, contains: /pricing}],"
                              " at_least: 3, within: 14d}\n")
    assert members(store, segments) == [ana]
    # the window moves with `now`: a day later ana's oldest visit is out
    assert segment_members(store, "s", now=NOW + timedelta(days=2), segments=segments) == []


def test_event_data_equals_and_in(store, people, tmp_path):
    ana, ben, _ = people
    store.record_event(ana, "purchase.completed", data={"sku": "A1", "qty": 2}, at=NOW)
    store.record_event(ben, "purchase.completed", data={"sku": "B2", "qty": 1}, at=NOW)
    assert members(store, one(tmp_path, "{event: purchase.completed, where: [{field: sku, equals: A1}]}")) == [ana]
    assert members(store, one(tmp_path, "{event: purchase.completed, where: [{field: qty, equals: 1}]}")) == [ben]
    assert members(store, one(tmp_path, "{event: purchase.completed, where: [{field: sku, in: [B2, C3]}]}")) == [ben]


def test_shipped_asleep_90d(store, people):
    ana, ben, cy = people
    old = NOW - timedelta(days=200)
    for cid in (ana, ben):
        store.record_event(cid, "email.sent", at=old)
    store.record_event(ana, "email.opened", at=old)           # opened long ago: asleep
    store.record_event(ben, "email.clicked", at=NOW - timedelta(days=10))  # recent click: awake
    assert segment_members(store, "asleep-90d", now=NOW) == [ana]   # cy never got email


def test_asleep_90d_never_holds_a_new_subscriber(store):
    """The issue's case: a contact welcomed an hour ago got email and did nothing yet; only
    someone first emailed more than 90 days ago, silent since, is asleep."""
    welcomed = store.create_contact(email="new@example.com")
    store.record_event(welcomed, "email.sent", at=NOW - timedelta(hours=1))
    dormant = store.create_contact(email="old@example.com")
    store.record_event(dormant, "email.sent", at=NOW - timedelta(days=120))
    store.record_event(dormant, "email.opened", at=NOW - timedelta(days=100))  # last activity: 100 days ago
    store.record_event(dormant, "email.sent", at=NOW - timedelta(days=7))      # still mailed, still silent
    assert segment_members(store, "asleep-90d", now=NOW) == [dormant]
    # 89 days on, the newcomer is still not asleep; at 91 days (nothing opened) they are
    assert segment_members(store, "asleep-90d", now=NOW + timedelta(days=89)) == [dormant]
    assert segment_members(store, "asleep-90d", now=NOW + timedelta(days=91)) == [welcomed, dormant]


def test_before_counts_only_older_events_and_combines_with_within(store, people, tmp_path):
    ana, ben, cy = people
    store.record_event(ana, "email.sent", at=NOW - timedelta(days=100))
    store.record_event(ben, "email.sent", at=NOW - timedelta(days=10))
    store.record_event(cy, "email.sent", at=NOW - timedelta(days=400))
    assert members(store, one(tmp_path, "{event: email.sent, before: 90d}")) == [ana, cy]
    assert members(store, one(tmp_path, "{event: email.sent, before: 90d, within: 365d}")) == [ana]
    assert members(store, one(tmp_path, "{event: email.sent, before: 5d, at_least: 2}")) == []


def test_shipped_file_segments_reference_each_other(store, people):
    ana, ben, cy = people
    store.record_event(ana, "email.opened", at=NOW - timedelta(days=1))
    assert segment_members(store, "product-updates-audience", now=NOW) == [ana, ben]
    store.add_tags(ben, ["no-product-news"])
    assert segment_members(store, "product-updates-audience", now=NOW) == [ana]


def test_erased_contacts_are_never_members(store, people, tmp_path):
    ana, _, _ = people
    store.erase_contact(ana)
    assert members(store, one(tmp_path, "{tag_prefix: 'source:'}")) == [people[1]]


def test_sweep_reports_added_and_removed(store, people, tmp_path):
    ana, ben, cy = people
    segments = one(tmp_path, "{tag: vip}")
    assert sweep(store, "s", segments=segments) == ([ana], [])
    assert sweep(store, "s", segments=segments) == ([], [])
    store.add_tags(cy, ["vip"])
    store.remove_tags(ana, ["vip"])
    assert sweep(store, "s", segments=segments) == ([cy], [ana])
    assert store.segment_membership("s") == [cy]


def test_unknown_segment_is_a_clear_error(store, tmp_path):
    with pytest.raises(SegmentError, match='unknown segment "nope" \\(known: s\\)'):
        segment_members(store, "nope", segments=one(tmp_path, "{tag: a}"))


@pytest.mark.parametrize("where, message", [
    ("{tag: a, stage: b}", "needs exactly one of"),
    ("{attribute: plan}", 'attribute "plan" needs a comparison'),
    ("{tag: a, within: 3d}", '"within" does not go with "tag"'),
    ("{segment: nope}", 'uses unknown segment "nope"'),
    ("{segment: s}", "includes itself"),
    ("{event: x, within: 3 days}", "segments[0].where.within"),
    ("{bogus: 1}", 'unknown key "bogus"'),
    ("{event: x, within: 30d, before: 90d}", "before: 90d must be shorter than within: 30d"),
    ("{tag: a, before: 3d}", '"before" does not go with "tag"'),
])
def test_bad_files_give_positioned_errors(tmp_path, where, message):
    path = tmp_path / "segments.yaml"
    path.write_text(f"segments:\n  - id: s\n    where: {where}\n", encoding="utf-8")
    errors = validate_segments_file(path)
    assert errors and message in errors[0].message
    assert str(errors[0]).startswith(f"{path}:3:")
    with pytest.raises(ConfigError):
        load_segments(path)


def test_shipped_file_validates():
    assert validate_segments_file(Path("journeys/segments.yaml")) == []
