"""The readable step diff and the migration rules (pure functions, no server)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from compiler import ir
from compiler.build import build_entry, build_policy, build_step
from compiler.compile import compile_file
from compiler.yaml_terms import render, settings_yaml, step_yaml
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
    assert "~ pause (wait): duration: 1h -> 2h" in lines  # its next is still the following step
    assert "+ more (send_email)" in lines
    assert "- bye (exit)" in lines
    assert "~ hello (send_email): template hello content changed (hello.subject.txt)" in lines


def test_an_edited_shared_part_shows_as_changed_content_of_the_templates_using_it():
    old = journey(HELLO, emails=["hello"])
    layout = (("_layout.html", "old footer"),)
    old = replace(old, template_parts=layout, template_uses=(("hello", ("_layout.html",)),))
    new = replace(old, template_parts=(("_layout.html", "new footer"),))
    assert diff_journeys(old, old).lines() == []
    assert diff_journeys(old, new).lines() == ["~ hello (send_email): template hello content changed (_layout.html)"]


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


def test_every_field_is_shown_in_the_files_terms_not_the_irs():
    engage = ir.WaitFor(id="engage", events=(ir.EventCase(event="email.clicked", of="hello", next="check"),),
                        timeout_s=3 * 86400, on_timeout="pause")
    pause = ir.Wait(id="pause", duration_s=3 * 86400, window=ir.Window(days=(0, 1, 2, 3, 4), from_min=540, to_min=1020))
    check = ir.Branch(id="check", cases=(ir.Case(when='score >= 50 and stage == "mql"', next="bump"),), default=None)
    bump = ir.SetProfile(id="bump", score_add=20, tags_add=("hot",))
    old = journey(HELLO, engage, pause, check, bump, emails=["hello"], quiet_hours=ir.QuietHours(from_min=1260, to_min=480))
    new = journey(
        HELLO,
        replace(engage, events=(ir.EventCase(event="email.clicked", of="hello", next="bump"),), timeout_s=2 * 86400),
        replace(pause, duration_s=2 * 86400, window=ir.Window(days=(0, 1, 2, 3, 4), from_min=600, to_min=1020)),
        replace(check, cases=(ir.Case(when='score >= 60 and stage == "mql"', next="bump"),), default="bump"),
        replace(bump, score_add=None, score_set=0, tags_add=("hot", "sales")),
        emails=["hello"], goal='stage == "customer"', quiet_hours=ir.QuietHours(from_min=1320, to_min=480),
        entry=ir.Entry(kind="manual", reentry="after", reentry_after_s=30 * 86400),
    )
    assert diff_journeys(old, new).lines() == [
        "~ engage (wait_for): events[0].next: check -> bump; timeout: 3d -> 2d",
        '~ pause (wait): duration: 3d -> 2d; window.from: "09:00" -> "10:00"',
        "~ check (branch): cases[0].when: 'score >= 50 and stage == \"mql\"' -> 'score >= 60 and stage == \"mql\"'; "
        "default: end -> bump",
        "~ bump (set): score: {add: 20} -> {set: 0}; tags.add: [hot] -> [hot, sales]",
        "~ entry.reentry: (not set) -> {after: 30d}",
        "~ goal: (not set) -> 'stage == \"customer\"'",
        '~ policy.quiet_hours.from: "21:00" -> "22:00"',
    ]


def test_a_step_moved_elsewhere_in_the_list_shows_its_explicit_next():
    a, b, c = (ir.Wait(id=i, duration_s=3600) for i in "abc")
    old = journey(a, b, c)
    new = journey(replace(a, next="b"), c, b)  # a still goes on to b, now written out
    assert diff_journeys(old, new).lines() == ["~ a (wait): next: (not set) -> b", "~ step order changed"]


JOURNEYS = Path(__file__).resolve().parent.parent / "journeys"
SHIPPED = sorted(p for p in JOURNEYS.glob("*.yaml") if compile_file(p).journey is not None)
EVERY_OPTION = """\
journey: every-option
title: Every option
description: A journey that uses every key the diff renders
entry: {event: cart.abandoned, key: cart_id, reentry: {after: 30d}}
goal: 'stage == "customer"'
objectives: {open_rate: 0.4, click_rate: 0.1}
policy:
  consent: {email: marketing, sms: marketing, webhook: third-party}
  on_no_consent: exit
  quiet_hours: {from: "21:00", to: "08:30"}
  timezone: Europe/Madrid
  frequency_cap: {email: {max: 3, per: 7d}, sms: {max: 1, per: 1d12h}}
steps:
  - {id: mail, type: send_email, template: cart-reminder, purpose: marketing, on_failure: exit}
  - {id: text, type: send_sms, template: cart-sms-reminder}
  - {id: window-only, type: wait, window: {days: [mon, fri], from: "09:00", to: "17:30"}}
  - {id: workdays, type: wait, duration: 36h, window: {days: [tue]}}
  - {id: fixed, type: wait, until: "2030-03-01T09:00:00Z"}
  - {id: before, type: wait, until: {attribute: webinar_at, offset: -1d}}
  - id: react
    type: wait_for
    events:
      - {event: email.clicked, of: mail, next: check}
      - {event: email.opened, of: mail}
    timeout: 3d
    on_timeout: end
  - id: check
    type: branch
    cases:
      - {when: 'score >= 50 and "vip" in tags', next: ab}
    default: end
  - id: ab
    type: split
    variants:
      - {name: a, percent: 45, next: profile}
      - {name: b, percent: 45, next: tell}
    holdout: 10
    next: bye
  - id: profile
    type: set
    stage: sql
    score: {set: 0}
    tags: {add: [hot], remove: [cold]}
    attributes: {plan: team, seats: 5}
    next: tell
  - {id: tell, type: notify, to: sales, template: sales-handoff}
  - id: hook
    type: webhook
    url: https://crm.example.com/hook
    method: PUT
    body: '{"id": "{{ contact.id }}"}'
    purpose: third-party
  - {id: bye, type: exit, reason: done}
"""


@pytest.fixture()
def every_option(tmp_path: Path) -> Path:
    """A journey with every key and option the rendering knows (window-only wait, until a time
    and an attribute, split holdout and next, webhook method, reentry after, caps, ...)."""
    (tmp_path / "templates").symlink_to(JOURNEYS / "templates")
    path = tmp_path / "every-option.yaml"
    path.write_text(EVERY_OPTION)
    return path


@pytest.mark.parametrize("path", [*SHIPPED, None], ids=lambda p: p.stem if p else "every-option")
def test_the_rendering_compiles_back_to_the_same_ir(path: Path | None, every_option: Path):
    """What the diff shows is what the file means: rendered fields rebuild every step and setting."""
    compiled = compile_file(path or every_option).journey
    assert compiled is not None
    ids = [s.id for s in compiled.steps] + [None]
    for step, following in zip(compiled.steps, ids[1:]):
        assert build_step({"id": step.id, "type": step.type, **step_yaml(step, following)}, following) == step
    settings = settings_yaml(compiled)
    assert build_entry(settings["entry"]) == compiled.entry
    assert build_policy(settings.get("policy", {})) == compiled.policy
    assert settings.get("goal") == compiled.goal
    assert settings.get("objectives", {}) == dict(compiled.objectives)


def test_a_long_text_is_cut_around_where_it_changed():
    text = "One run per abandoned cart, keyed by cart_id, so that two carts mean two runs; " * 2
    old = replace(journey(HELLO, emails=["hello"]), description=text + "A reminder after an hour.")
    new = replace(old, description=text + "A reminder after two hours.")
    (line,) = diff_journeys(old, new).lines()
    assert line.startswith("~ description: ...") and "after an hour" in line and "after two hours" in line


def test_steps_render_as_the_file_writes_them(every_option: Path):
    compiled = compile_file(every_option).journey
    assert compiled is not None
    ids = [s.id for s in compiled.steps] + [None]
    shown = {s.id: render(step_yaml(s, f)) for s, f in zip(compiled.steps, ids[1:])}
    assert shown["window-only"] == '{window: {days: [mon, fri], from: "09:00", to: "17:30"}}'
    assert shown["workdays"] == "{duration: 1d12h, window: {days: [tue]}}"
    assert shown["fixed"] == '{until: "2030-03-01T09:00:00Z"}'
    assert shown["before"] == "{until: {attribute: webinar_at, offset: -1d}}"
    assert shown["react"] == "{events: [{event: email.clicked, of: mail}, {event: email.opened, of: mail}], timeout: 3d, on_timeout: end}"
    assert shown["ab"] == "{variants: [{name: a, percent: 45, next: profile}, {name: b, percent: 45, next: tell}], holdout: 10, next: bye}"
    assert shown["hook"] == '{url: "https://crm.example.com/hook", method: PUT, body: \'{"id": "{{ contact.id }}"}\', purpose: third-party}'
    assert render(settings_yaml(compiled)["policy"]["frequency_cap"]) == "{email: {max: 3, per: 7d}, sms: {max: 1, per: 1d12h}}"
