"""The report's numbers on a store filled by real runs (worker over this store, real SMTP sink,
consent refusals, a hard bounce) and opens/clicks/unsubscribes published through the events
path, on SQLite and PostgreSQL; objectives without data; the HTML page (summary first, a section
and anchor per journey, self-contained); analyze counts contacts."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import cli

from compiler import ir
from engine.enrol import enrol
from engine.events import publish
from marketing.analyze import FieldError, crosstab, frequency
from marketing.report import journey_report
from compiler.compile import compile_file
from marketing.report_format import to_html, to_table
from tests import report_sample
from tests.journey_builder import journey
from tests.test_rules import deps_for, hooks, sim  # noqa: F401 - shared fixtures
from worker import create_worker

CONSENT = ("email", "marketing")
REPO = Path(__file__).resolve().parent.parent


class Page(HTMLParser):
    """The page's tags and attributes, and the text of each summary row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[str] = []
        self._in_row = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._in_row = True
            self.rows.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_row = self._in_row and tag != "tr"

    def handle_data(self, data: str) -> None:
        if self._in_row:
            self.rows[-1] += data + " "

    def ids(self) -> list[str]:
        return [a["id"] or "" for _, a in self.tags if "id" in a]

    def hrefs(self) -> list[str]:
        return [a["href"] or "" for t, a in self.tags if t == "a" and "href" in a]


def assert_self_contained(page: str) -> None:
    """No script, no external resource: the page works offline and as an e-mail attachment."""
    parsed = Page(page)
    assert {t for t, _ in parsed.tags}.isdisjoint({"script", "link", "img", "iframe", "object", "embed", "image", "use"})
    assert not re.search(r"@import|url\((?!#)", page, re.I)
    values = [v or "" for _, attrs in parsed.tags for v in attrs.values()]
    assert not [v for v in values if re.match(r"\s*(https?:|//|file:|data:)", v, re.I)]
    assert all(h.startswith("#") for h in parsed.hrefs())


def demo(name: str) -> ir.Journey:
    j = compile_file(REPO / "journeys" / f"{name}.yaml").journey
    assert j is not None
    return j


def report_journey() -> ir.Journey:
    j = journey(
        ir.Split(id="ab", variants=(ir.Variant(name="a", percent=50, next="welcome"),
                                    ir.Variant(name="b", percent=50, next="welcome"))),
        ir.SendEmail(id="welcome", template="welcome"),
        ir.SendEmail(id="guide", template="guide"),
        ir.Branch(id="vip", cases=(ir.Case(when='"vip" in tags', next="convert"),), default=None),
        ir.SetProfile(id="convert", stage="customer"),
        ir.Exit(id="done", reason="converted-exit"),
        emails=["welcome", "guide"], goal='stage == "customer"',
    )
    j = dataclasses.replace(j, objectives=(("click_rate", 0.2), ("conversion_rate", 0.5)))
    return ir.Journey.from_dict({**j.to_dict(), "version": j.content_hash()})


async def populate(store, sim, j: ir.Journey) -> dict[str, int]:
    """Five contacts through the journey; then engagement through publish."""
    tag = store.dialect
    people = {}
    for name in ("ana", "ben", "cy", "dee", "eve"):
        people[name] = store.create_contact(email=f"{name}-{tag}@example.com", first_name=name.title(),
                                            tags=["vip"] if name == "ana" else [])
        if name != "cy":
            store.record_consent(people[name], *CONSENT, "granted", source="test")
    store.suppress("email", f"dee-{tag}@example.com", reason="complaint", source="test")
    sim.smtp.reject_recipient(f"eve-{tag}@example.com")
    queue = f"report-{tag}"
    try:
        async with create_worker(sim.env.client, deps_for(store, sim), task_queue=queue):
            for cid in people.values():
                started = await enrol(sim.env.client, store, j, cid, task_queue=queue)
                await sim.env.client.get_workflow_handle(started.workflow_id).result()
    finally:
        sim.smtp.clear_faults()

    def mid(name: str, step: str) -> str:
        return next(m.message_id for m in store.messages_for(people[name]) if m.step_id == step)

    client = sim.env.client
    await publish(client, store, people["ana"], "email.opened", message_id=mid("ana", "welcome"))
    await publish(client, store, people["ana"], "email.clicked", message_id=mid("ana", "welcome"))
    await publish(client, store, people["ana"], "email.clicked", message_id=mid("ana", "welcome"))  # same message
    await publish(client, store, people["ben"], "email.clicked", message_id=mid("ben", "welcome"), likely_bot=True)
    await publish(client, store, people["ben"], "email.opened", message_id=mid("ben", "guide"))
    await publish(client, store, people["ana"], "email.unsubscribed", message_id=mid("ana", "guide"))
    return people




async def test_report_numbers_from_real_runs(store, sim, hooks):
    j = report_journey()
    store.save_journey_version(j.id, j.version, j.to_dict())
    await populate(store, sim, j)
    r = journey_report(store, j)
    welcome, guide = (next(s for s in r["steps"] if s["id"] == sid) for sid in ("welcome", "guide"))
    assert {k: welcome[k] for k in ("entered", "sent", "bounced", "delivered", "opened", "clicked", "clicked_bot",
                                    "unsubscribed", "skipped", "skipped_reasons")} == {
        "entered": 5, "sent": 3, "bounced": 1, "delivered": 2, "opened": 1, "clicked": 1, "clicked_bot": 1,
        "unsubscribed": 0, "skipped": 2, "skipped_reasons": {"no_consent": 1, "suppressed": 1}}
    assert (welcome["open_rate"], welcome["click_rate"], welcome["click_to_open"]) == (0.5, 0.5, 1.0)
    assert {k: guide[k] for k in ("sent", "delivered", "opened", "clicked", "unsubscribed", "skipped_reasons")} == {
        "sent": 2, "delivered": 2, "opened": 1, "clicked": 0, "unsubscribed": 1,
        "skipped_reasons": {"no_consent": 1, "suppressed": 2}}  # eve's hard bounce suppressed her
    t = r["totals"]
    assert (t["entered"], t["sent"], t["delivered"], t["opened"], t["clicked"], t["converted"]) == (5, 5, 4, 2, 1, 1)
    assert (t["open_rate"], t["click_rate"], t["click_to_open"], t["conversion_rate"]) == (0.5, 0.25, 0.5, 0.2)
    assert [(o["name"], o["met"]) for o in r["objectives"]] == [("click_rate", True), ("conversion_rate", False)]
    assert {v["variant"] for v in r["variants"]} <= {"a", "b"}
    assert sum(v["entered"] for v in r["variants"]) == 5 and sum(v["converted"] for v in r["variants"]) == 1
    assert sum(v["clicked"] for v in r["variants"]) == 1
    assert "objective conversion_rate >= 50.0%: 20.0% NOT MET" in to_table(r)

    page = to_html([(j, r)])
    assert "<svg" in page and "entered 5" in page
    assert "sent 3 · delivered 2" in page and "opened 50.0% · clicked 50.0%" in page  # the welcome box
    assert_self_contained(page)


def test_objectives_without_sends_say_no_data_yet(store):
    """No runs, or runs whose every send was skipped: a rate over nothing is "no data yet",
    never "not met" (in red) on the page or in the table."""
    idle, skipped = demo("cube-nurture"), demo("welcome-series")
    cid = store.create_contact(email=f"nobody-{store.dialect}@example.com")
    workflow = f"journey/welcome-series/{cid}"
    store.record_enrolment("welcome-series", cid, workflow_id=workflow)
    store.record_consent_decision(cid, channel="email", purpose="marketing", granted=False, basis="no consent",
                                  workflow_id=workflow, step_id="welcome")
    reports = [(j, journey_report(store, j)) for j in (idle, skipped)]
    for _, r in reports:
        assert r["objectives"] and all(o["status"] == "no data yet" and o["met"] is None for o in r["objectives"])
    welcome = next(s for s in reports[1][1]["steps"] if s["id"] == "welcome")
    assert reports[1][1]["totals"]["entered"] == 1 and welcome["skipped"] == 1
    assert "objective open_rate >= 35.0%: - NO DATA YET" in to_table(reports[0][1])
    page = to_html(reports)
    assert "not met" not in page.lower() and 'class="pill not-met"' not in page
    rows = Page(page).rows
    assert any("Cube nurture" in row and "no data yet" in row for row in rows)
    assert page.count('<span class="pill no-data">no data yet</span>') == 2 + 2 + 1  # summary x2, cube's 2, welcome's 1


def test_met_and_not_met_objectives_are_marked(sqlite_store):
    j = demo("welcome-series")  # click_rate >= 10%
    report_sample.fill(sqlite_store, j, contacts=10)
    r = journey_report(sqlite_store, j)
    (o,) = r["objectives"]
    assert o["actual"] is not None and o["status"] == ("met" if o["actual"] >= 0.1 else "not met")
    assert f'<span class="pill {o["status"].replace(" ", "-")}">{o["status"]}</span>' in to_html([(j, r)])


def test_a_conversion_objective_without_a_goal_is_not_missed(sqlite_store):
    """A journey with conversion_rate but no goal (validate refuses that now, but a version
    deployed before still runs): nothing can ever convert, so the objective says "no goal"
    (grey), not "not met" (red)."""
    j = demo("cart-abandonment")
    j = dataclasses.replace(j, objectives=(*j.objectives, ("conversion_rate", 0.1)))
    assert j.goal is None
    report_sample.fill(sqlite_store, j, contacts=10)
    r = journey_report(sqlite_store, j)
    conversion = next(o for o in r["objectives"] if o["name"] == "conversion_rate")
    assert (conversion["status"], conversion["met"], conversion["actual"]) == ("no goal", None, None)
    assert '<span class="pill no-data">no goal</span>' in to_html([(j, r)])
    assert "objective conversion_rate >= 10.0%: - NO GOAL" in to_table(r)


def test_page_summary_first_and_a_section_per_journey(sqlite_store):
    """A summary table before everything, one row per journey linking to that journey's section."""
    names = ("cube-nurture", "trial-to-paid", "webinar")
    journeys = [demo(n) for n in names]
    for j in journeys[:2]:  # webinar has no activity
        report_sample.fill(sqlite_store, j, contacts=15)
    page = to_html([(j, journey_report(sqlite_store, j)) for j in journeys])
    parsed = Page(page)
    ids = parsed.ids()
    assert ids.index("summary") < min(ids.index(f"journey-{n}") for n in names)
    assert [h for h in parsed.hrefs() if h != "#summary"] == [f"#journey-{n}" for n in names]
    summary = page[page.index('id="summary"'):page.index('<section class="journey')]
    for n in names:
        assert f'href="#journey-{n}"' in summary and re.search(f'<section class="journey[^"]*" id="journey-{n}">', page)
    assert '<section class="journey wide" id="journey-cube-nurture">' in page  # prints on a landscape page
    assert '<section class="journey" id="journey-trial-to-paid">' in page
    assert page.count('href="#summary"') == len(names)  # a way back from every section
    rows = [r for r in parsed.rows if "trial-to-paid" in r and "Trial to paid" in r]
    assert len(rows) == 1
    t = journey_report(sqlite_store, journeys[1])["totals"]
    assert re.search(rf"Trial to paid nurture trial-to-paid {t['entered']} {t['sent']} {t['delivered']} ", rows[0])
    assert "No runs yet" in page[page.index('id="journey-webinar"'):]
    trial = page[page.index('id="journey-trial-to-paid"'):page.index('id="journey-webinar"')]
    assert f'<td>Entered</td><td class="n">{t["entered"]}</td>' in trial  # funnel figures are text, not drawn
    assert "@media print" in page and "break-before:page" in page
    assert_self_contained(page)


def test_page_graphs_have_every_label_whole(sqlite_store):
    """Step ids, details and edge labels are in the SVG text in full (wrapped on several lines,
    never cut), and the SVG scales to its container (viewBox, no fixed page width)."""
    from xml.etree import ElementTree

    from compiler import graph

    j = demo("cube-nurture")
    report_sample.fill(sqlite_store, j, contacts=15)
    page = to_html([(j, journey_report(sqlite_store, j))])
    svg = ElementTree.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    texts = {"".join(t.itertext()) for t in svg.iter("text")}
    wanted = {e.label for e in graph.edges(j) if e.label} | {s.id for s in j.steps} | {graph.entry_label(j.entry)}
    assert wanted <= texts
    assert 'attributes.brand_knowledge == "high" and attributes.affinity == "high"' in texts
    assert any(len(list(t.iter("tspan"))) > 2 for t in svg.iter("text"))  # the long conditions are wrapped
    assert svg.get("viewBox") and ".graph svg{display:block;max-width:100%;height:auto" in page


def test_page_escapes_what_journey_files_say(sqlite_store):
    """Titles, step ids and conditions are text wherever they appear (summary, section, SVG)."""
    from xml.etree import ElementTree

    j = journey(ir.Branch(id="b", cases=(ir.Case(when='score < 5 and "a&b" in tags', next="hi"),), default=None),
                ir.SendEmail(id="hi", template="welcome"), emails=["welcome"])
    j = dataclasses.replace(j, title="<script>alert('x')</script> & co")
    page = to_html([(j, journey_report(sqlite_store, j))])
    assert_self_contained(page)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    svg = ElementTree.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    assert 'score < 5 and "a&b" in tags' in {"".join(t.itertext()) for t in svg.iter("text")}


def test_cli_html_report_to_a_file(sqlite_url, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--format", "html", "--db", sqlite_url, "--journeys", str(REPO / "journeys"),
                     "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and 'id="summary"' in page and "No runs yet" in page
    assert_self_contained(page)


async def test_since_excludes_older_activity(store, sim, hooks):
    j = report_journey()
    await populate(store, sim, j)
    from datetime import datetime, timedelta, timezone

    later = journey_report(store, j, since=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert later["totals"]["entered"] == 0 and later["totals"]["sent"] == 0


def test_frequency_and_crosstab(store):
    a = store.create_contact(email="a@x.com", stage="lead", tags=["source:crm", "interest-ai"], attributes={"plan": "team"})
    b = store.create_contact(email="b@x.com", stage="lead", tags=["source:shop"], attributes={"plan": "trial"})
    c = store.create_contact(email="c@x.com", stage="customer", tags=["source:crm"])
    store.create_contact(email="d@x.com")
    store.add_score(a, 75, reason="t")
    store.add_score(b, 45, reason="t")
    store.erase_contact(c)
    assert frequency(store, "stage")["rows"] == [
        {"value": "lead", "count": 2, "percent": 66.7}, {"value": "(none)", "count": 1, "percent": 33.3}]
    assert {r["value"]: r["count"] for r in frequency(store, "temperature")["rows"]} == {"hot": 1, "warm": 1, "cold": 1}
    assert {r["value"]: r["count"] for r in frequency(store, "source")["rows"]} == {"crm": 1, "shop": 1, "(none)": 1}
    assert {r["value"]: r["count"] for r in frequency(store, "tag:interest-")["rows"]} == {"ai": 1, "(none)": 2}
    assert {r["value"]: r["count"] for r in frequency(store, "attributes.plan")["rows"]} == {"team": 1, "trial": 1, "(none)": 1}
    x = crosstab(store, "stage", "attributes.plan")
    assert x["counts"] == {"(none)": {"(none)": 1, "team": 0, "trial": 0}, "lead": {"(none)": 0, "team": 1, "trial": 1}}
    assert x["row_totals"] == {"(none)": 1, "lead": 2} and x["total"] == 3
    with pytest.raises(FieldError, match="unknown field"):
        frequency(store, "colour")
