"""The HTML report shows deliverability (marketing/report_html.py): bounce %, complaint % and a
warning/alert badge per journey in the summary table, and a table per send step in the journey's
section; on SQLite and PostgreSQL, and through `cli.py report --format html`."""

from __future__ import annotations

import cli
from marketing.report import journey_report
from marketing.report_format import to_html
from tests.test_deliverability import JOURNEYS, mailed
from tests.test_report import Page, assert_self_contained, demo


def _rows(html: str) -> list[str]:
    """The text of each table row, whitespace collapsed."""
    return [" ".join(r.split()) for r in Page(html).rows]


def _summary_row(page: str, journey_id: str) -> str:
    summary = page[page.index('id="summary"'):page.index('<section class="journey')]
    return next(r for r in _rows(summary) if journey_id in r)


def _section(page: str, journey_id: str) -> str:
    start = page.index(f'id="journey-{journey_id}"')
    end = page.find('<section class="journey', start)
    return page[start:end if end > 0 else len(page)]


def test_complaints_over_the_alert_rate_show_the_alert(store) -> None:
    """welcome: 2 complaints of 500 (0.40%: alert); guide: 1 of 500 (0.20%: warning); journey
    3 of 1000 = 0.30%: alert, in the summary row and the journey's deliverability table."""
    mailed(store, "welcome-series", "welcome", 500, bounced=10, hard=4, complained=2)
    mailed(store, "welcome-series", "guide", 500, complained=1, start=500)
    j = demo("welcome-series")
    r = journey_report(store, j)
    assert r["deliverability"]["level"] == "alert"
    page = to_html([(j, r)])
    row = _summary_row(page, "welcome-series")
    assert " 10 1.00% 0.30% (3) alert " in row  # Bounced: count and rate; Complaints: rate, count, badge
    assert '<span class="pill not-met">alert</span>' in page[:page.index('<section class="journey')]
    section = _section(page, "welcome-series")
    table = _rows(section[section.index("<h3>Deliverability</h3>"):])
    assert table[1:4] == ["welcome 500 2.00% (10) 4 0.40% (2) alert",  # the journey's step order
                          "guide 500 0.00% (0) 0 0.20% (1) warning",
                          "journey 1000 1.00% (10) 4 0.30% (3) alert"]
    assert '<span class="pill warn">warning</span>' in section
    assert_self_contained(page)


def test_a_warning_and_a_journey_without_sends(sqlite_store) -> None:
    """1 complaint of 500 is a warning (amber); a journey with no sends says `no data` and has no table."""
    mailed(sqlite_store, "welcome-series", "welcome", 500, complained=1)
    journeys = [demo("welcome-series"), demo("webinar")]
    page = to_html([(j, journey_report(sqlite_store, j)) for j in journeys])
    assert " 0 0.00% 0.20% (1) warning " in _summary_row(page, "welcome-series")
    assert " 0 - no data " in _summary_row(page, "webinar")
    assert "<h3>Deliverability</h3>" not in _section(page, "webinar")
    assert "<h3>Deliverability</h3>" in _section(page, "welcome-series")


def test_cli_html_report_has_the_alert(sqlite_store, sqlite_url, tmp_path) -> None:
    mailed(sqlite_store, "welcome-series", "welcome", 300, complained=1)  # 0.33%
    out = tmp_path / "report.html"
    assert cli.main(["report", "welcome-series", "--format", "html", "--db", sqlite_url,
                     "--journeys", str(JOURNEYS), "-o", str(out)]) == 0
    assert " 0 0.00% 0.33% (1) alert " in _summary_row(out.read_text(encoding="utf-8"), "welcome-series")
