"""The readable step diff and the migration rules (pure functions, no server)."""

from __future__ import annotations

from dataclasses import replace

from compiler import ir
from deploy.diff import diff_journeys, migration_refusal
from deploy.report import NO_CHANGES, format_plan
from deploy.plan import JourneyPlan, Plan
from tests.journey_builder import email, journey

HELLO = ir.SendEmail(id="hello", template="hello")
WAIT = ir.Wait(id="pause", duration_s=3600)


def test_added_removed_and_changed_steps_say_what_changed():
    old = journey(HELLO, WAIT, ir.Exit(id="bye"), emails=["hello"])
    new = journey(HELLO, ir.Wait(id="pause", duration_s=7200), ir.SendEmail(id="more", template="hello"),
                  emails=[email("hello", subject="New subject")])
    lines = diff_journeys(old, new).lines()
    assert "~ pause (wait): duration_s: 3600 -> 7200; next: 'bye' -> 'more'" in lines
    assert "+ more (send_email)" in lines
    assert "- bye (exit)" in lines
    assert any(line.startswith("~ hello (send_email)") and "template hello content changed" in line for line in lines)


def test_an_edited_shared_part_shows_as_changed_content_of_the_templates_using_it():
    old = journey(HELLO, emails=["hello"])
    layout = (("_layout.html", "old footer"),)
    old = replace(old, template_parts=layout, template_uses=(("hello", ("_layout.html",)),))
    new = replace(old, template_parts=(("_layout.html", "new footer"),))
    assert diff_journeys(old, old).lines() == []
    assert diff_journeys(old, new).lines() == ["~ hello (send_email): template hello content changed"]


def test_the_same_journey_has_no_diff_and_the_plan_says_no_changes():
    j = journey(HELLO, WAIT, emails=["hello"])
    assert diff_journeys(j, j).lines() == []
    assert format_plan(Plan([JourneyPlan(j.id, "unchanged", new=j, old=j)])) == NO_CHANGES


def test_migration_refused_where_the_step_is_gone_or_changed_type():
    old = journey(HELLO, WAIT, emails=["hello"])
    gone = journey(HELLO, emails=["hello"])
    retyped = journey(HELLO, ir.Exit(id="pause"), emails=["hello"])
    assert migration_refusal(old, gone, "pause") == f"step 'pause' is gone in version {gone.version}"
    assert migration_refusal(old, retyped, "pause") == "step 'pause' changed type (wait -> exit)"
    assert migration_refusal(old, retyped, "hello") == ""
    assert migration_refusal(old, gone, None) == "the run has not reached a step yet"
