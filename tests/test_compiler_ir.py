"""The shipped journeys compile, and the IR holds what the language says."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from compiler import ir
from compiler.compile import JourneyLoadError, compile_file, compile_paths, load_journeys
from compiler.config_files import split_files
from compiler.durations import parse_clock, parse_duration

ROOT = Path(__file__).resolve().parent.parent
JOURNEYS = ROOT / "journeys"


def test_every_shipped_journey_compiles() -> None:
    files = split_files([JOURNEYS])[0]
    assert len(files) >= 9
    for result in compile_paths(files):
        assert result.errors == [], "\n".join(map(str, result.errors))
        assert result.journey is not None and result.journey.id == Path(result.path).stem


def test_trial_to_paid_ir() -> None:
    j = compile_file(JOURNEYS / "trial-to-paid.yaml").journey
    assert j is not None
    assert j.entry == ir.Entry(kind="event", event="trial.started")
    assert j.goal == 'stage == "customer"'
    assert j.policy.consent == (("email", "marketing"), ("sms", "marketing"))
    assert j.policy.quiet_hours == ir.QuietHours(from_min=21 * 60, to_min=8 * 60)
    assert j.policy.timezone == "Europe/Madrid"
    assert [s.id for s in j.steps][:3] == ["welcome", "wait-engagement", "sms-nudge"]
    welcome = j.step("welcome")
    assert isinstance(welcome, ir.SendEmail) and welcome.next == "wait-engagement"
    wait_for = j.step("wait-engagement")
    assert isinstance(wait_for, ir.WaitFor)
    assert wait_for.timeout_s == 3 * 86400 and wait_for.on_timeout == "sms-nudge"
    assert wait_for.events == (
        ir.EventCase(event="email.clicked", of="welcome", next="score-check"),
        ir.EventCase(event="email.opened", of="welcome", next="nudge-wait"),
    )
    nudge_wait = j.step("nudge-wait")
    assert nudge_wait == ir.Wait(
        id="nudge-wait", next="score-check", duration_s=2 * 86400,
        window=ir.Window(days=(0, 1, 2, 3, 4), from_min=9 * 60, to_min=17 * 60),
    )
    assert j.step("day-before-webinar") == ir.Wait(
        id="day-before-webinar", next="webinar-reminder", until_attribute="webinar_at", offset_s=-86400
    )
    branch = j.step("score-check")
    assert isinstance(branch, ir.Branch) and branch.default == "case-study" and branch.next is None
    assert [c.next for c in branch.cases] == ["hand-to-sales", "day-before-webinar"]
    assert j.step("webinar-reminder").next is None  # next: end
    assert j.step("hand-to-sales") == ir.SetProfile(
        id="hand-to-sales", next="tell-sales", stage="sql", score_add=20, tags_add=("sales-ready",), tags_remove=("nurture",)
    )
    assert j.step("handed-off") == ir.Exit(id="handed-off", next=None, reason="handed-to-sales")
    assert sorted(dict(j.email_templates)) == ["case-study-roi", "sales-handoff", "trial-welcome", "webinar-reminder"]
    assert list(dict(j.sms_templates)) == ["trial-nudge"]
    body = (JOURNEYS / "templates" / "trial-nudge.sms.txt").read_text().rstrip("\n")
    assert j.sms_template("trial-nudge").body == body


def test_version_is_the_content_hash_and_survives_json() -> None:
    j = compile_file(JOURNEYS / "trial-to-paid.yaml").journey
    assert j is not None and j.version == j.content_hash() and len(j.version) == 12
    again = ir.Journey.from_dict(json.loads(json.dumps(j.to_dict())))
    assert again == j and again.content_hash() == j.version


def test_version_changes_with_behaviour_not_with_comments(tmp_path: Path) -> None:
    for shared in ("templates", "sending.yaml"):  # what a journey reads from its folder
        (tmp_path / shared).symlink_to(JOURNEYS / shared)
    source = (JOURNEYS / "trial-to-paid.yaml").read_text()
    path = tmp_path / "trial-to-paid.yaml"
    path.write_text(source + "# a comment\n")
    same = compile_file(path).journey
    path.write_text(source.replace("timeout: 3d", "timeout: 4d"))
    other = compile_file(path).journey
    base = compile_file(JOURNEYS / "trial-to-paid.yaml").journey
    assert same and other and base
    assert same.version == base.version and other.version != base.version


def test_locale_variants_are_carried() -> None:
    j = compile_file(JOURNEYS / "welcome-series.yaml").journey
    assert j is not None
    names = dict(j.email_templates)
    assert {"welcome-1", "welcome-1.es"} <= set(names)
    es = (JOURNEYS / "templates" / "welcome-1.es.subject.txt").read_text().strip()
    assert j.email_template("welcome-1", "es-MX").subject == es
    assert j.objectives == (("click_rate", 0.1),)
    assert j.policy.on_no_consent == "exit"
    assert j.policy.frequency_caps == (ir.FrequencyCap(channel="email", max=3, per_s=7 * 86400),)


def test_notify_without_html_uses_the_text(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "alert.subject.txt").write_text("Hot lead {{ contact.id }}\n")
    (tmp_path / "templates" / "alert.txt").write_text("Score {{ score }}\n")
    (tmp_path / "j.yaml").write_text(
        "journey: j\nentry: {manual: true, reentry: {after: 30d}}\nsteps:\n"
        "  - {id: ab, type: split, variants: [{name: a, percent: 90, next: tell}], holdout: 10}\n"
        "  - {id: tell, type: notify, to: sales, template: alert}\n"
    )
    result = compile_file(tmp_path / "j.yaml")
    assert result.errors == []
    j = result.journey
    assert j is not None
    assert j.entry == ir.Entry(kind="manual", reentry="after", reentry_after_s=30 * 86400)
    assert j.email_template("alert") == ir.EmailTemplate(subject="Hot lead {{ contact.id }}", html="Score {{ score }}\n", text="Score {{ score }}\n")
    assert j.step("ab") == ir.Split(id="ab", next=None, variants=(ir.Variant(name="a", percent=90, next="tell"),), holdout=10)
    assert j.step("tell").next is None


def test_load_journeys_raises_with_every_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("journey: b\n")
    with pytest.raises(JourneyLoadError) as caught:
        load_journeys(tmp_path)
    text = str(caught.value)
    assert f"{tmp_path / 'a.yaml'}:1:1: missing key \"entry\"" in text
    assert f"{tmp_path / 'a.yaml'}:1:10: journey \"b\" must equal the file name \"a\"" in text
    assert len(caught.value.diagnostics) == 3


def test_load_journeys_by_id() -> None:
    journeys = load_journeys(JOURNEYS)
    assert "trial-to-paid" in journeys and journeys["trial-to-paid"].id == "trial-to-paid"


@pytest.mark.parametrize(
    "text, seconds",
    [("30m", 1800), ("12h", 43200), ("3d", 259200), ("1w2d", 777600), ("P3DT4H", 273600), ("PT90S", 90), ("-1d", -86400), ("P1W", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["3mo", "P1M", "P1Y", "P", "PT", "P1DT", "1.5d", "", "d"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_clock() -> None:
    assert parse_clock("00:00") == 0 and parse_clock("23:59") == 1439
    with pytest.raises(ValueError):
        parse_clock("24:00")


# ---------------------------------------------------------------- shared parts (layouts)


def _layout_journey(folder: Path) -> Path:
    """A journey whose email extends `_layout.html` (which includes `_footer.html`) and has a Spanish variant."""
    t = folder / "templates"
    t.mkdir()
    files = {
        "news.subject.txt": "News", "news.es.subject.txt": "Noticias",
        "news.html": '{% extends "_layout.html" %}{% block content %}Hi{% endblock %}',
        "news.es.html": '{% extends "_layout.es.html" %}{% block content %}Hola{% endblock %}',
        "news.txt": "Hi {{ unsubscribe_url }}", "news.es.txt": "Hola {{ unsubscribe_url }}",
        "_layout.html": '<body>{% block content %}{% endblock %}{% include "_footer.html" %}</body>',
        "_layout.es.html": '{% extends "_layout.html" %}',
        "_footer.html": '<a href="{{ unsubscribe_url }}">Unsubscribe</a>',
        "_unused.html": "never named",
        "alert.subject.txt": "Lead", "alert.txt": "Score {{ score }}",
    }
    for name, text in files.items():
        (t / name).write_text(text)
    (folder / "j.yaml").write_text(
        "journey: j\nentry: {manual: true}\npolicy: {consent: {email: marketing}}\nsteps:\n"
        "  - {id: news, type: send_email, template: news}\n"
        "  - {id: tell, type: notify, to: sales, template: alert}\n"
    )
    return folder / "j.yaml"


def test_parts_are_bundled_transitively_and_survive_json(tmp_path: Path) -> None:
    result = compile_file(_layout_journey(tmp_path))
    assert result.errors == []
    j = result.journey
    assert j is not None
    t = tmp_path / "templates"
    assert j.template_parts == tuple((n, (t / n).read_text()) for n in ("_footer.html", "_layout.es.html", "_layout.html"))
    assert j.template_uses == (
        ("news", ("_footer.html", "_layout.html")),
        ("news.es", ("_footer.html", "_layout.es.html", "_layout.html")),
    )
    assert sorted(j.parts_for("news")) == ["_footer.html", "_layout.es.html", "_layout.html"]
    assert j.parts_for("alert") == {}
    again = ir.Journey.from_dict(json.loads(json.dumps(j.to_dict())))
    assert again == j and again.content_hash() == j.version


def test_editing_a_part_makes_a_new_version_and_the_old_one_keeps_its_part(tmp_path: Path) -> None:
    path = _layout_journey(tmp_path)
    old = compile_file(path).journey
    footer = tmp_path / "templates" / "_footer.html"
    footer.write_text('<a href="{{ unsubscribe_url }}">Leave</a>')
    os.utime(footer, ns=(1, 1))  # a new stamp even on a coarse clock: the file cache keys on it
    new = compile_file(path).journey
    assert old and new and new.version != old.version
    assert old.parts_for("news")["_footer.html"] == '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    assert new.parts_for("news")["_footer.html"] == '<a href="{{ unsubscribe_url }}">Leave</a>'


def test_a_journey_without_parts_keeps_the_version_it_had_before_parts_existed() -> None:
    j = compile_file(JOURNEYS / "sales-handoff.yaml").journey
    assert j is not None and j.template_parts == ()
    data = {**j.to_dict(), "version": ""}
    del data["template_parts"], data["template_uses"]
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=list)
    assert j.version == hashlib.sha256(blob.encode()).hexdigest()[:12]


def test_shipped_emails_share_the_layouts() -> None:
    j = compile_file(JOURNEYS / "welcome-series.yaml").journey
    assert j is not None
    assert set(j.parts_for("welcome-2")) == {"_layout.html", "_layout.txt", "_layout.es.html", "_layout.es.txt"}
    # welcome-1's html part is MJML (welcome-1.mjml), a whole document: only its text uses a layout
    assert set(j.parts_for("welcome-1")) == {"_layout.txt", "_layout.es.txt"}
