"""marketing.segments.explain_segment: each node of a segment evaluated for one contact, in SQL,
with the values that made it true or false (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from marketing.segments import explain_segment, load_segments, segment_members

SEGMENTS = """
segments:
  - id: engaged
    title: Engaged
    description: opened something
    where: {event: email.opened, at_least: 2}
  - id: pro-leads
    title: Pro leads
    description: on the pro plan, a lead, engaged, not a customer
    where:
      all:
        - {attribute: plan, equals: pro}
        - {stage: [lead, mql]}
        - {score: {gte: 50}}
        - {segment: engaged}
        - not: {tag: customer}
"""


def _segments(tmp_path: Path):
    path = tmp_path / "segments.yaml"
    path.write_text(SEGMENTS)
    return load_segments(path)


def test_each_leaf_says_whether_it_holds_and_what_the_contact_has(store, tmp_path):
    segments = _segments(tmp_path)
    cid = store.create_contact(email="ben@example.com", stage="lead", attributes={"plan": "free"}, tags=["customer"])
    store.add_score(cid, 30, reason="test")
    store.record_event(cid, "email.opened")
    verdict = explain_segment(store, "pro-leads", cid, segments=segments)
    assert verdict.result is False and cid not in segment_members(store, "pro-leads", segments=segments)
    leaves = {v.test: (v.result, v.value) for v in verdict.false_leaves()}
    assert leaves == {
        "attribute plan equals 'pro'": (False, "free"),
        "score(global) gte 50": (False, 30),
        "event email.opened at least 2": (False, 1),
        "tag customer": (True, ["customer"]),  # under `not`: it held, so the `not` is false
    }
    stage = next(v for v in verdict.children if v.test.startswith("stage"))
    assert (stage.result, stage.value) == (True, "lead")


def test_a_member_has_no_false_leaves(store, tmp_path):
    segments = _segments(tmp_path)
    cid = store.create_contact(email="ana@example.com", stage="mql", attributes={"plan": "pro"})
    store.add_score(cid, 60, reason="test")
    store.record_event(cid, "email.opened")
    store.record_event(cid, "email.opened")
    verdict = explain_segment(store, "pro-leads", cid, segments=segments)
    assert verdict.result is True and verdict.false_leaves() == []
    assert segment_members(store, "pro-leads", segments=segments) == [cid]
