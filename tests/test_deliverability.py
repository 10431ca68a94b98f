"""Bounce and complaint rates per journey and step (marketing/deliverability.py) and in
`cli.py report`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import cli
from marketing.deliverability import deliverability, deliverability_lines, level

JOURNEYS = Path(__file__).resolve().parent.parent / "journeys"


def mailed(store, journey_id: str, step_id: str, n: int, *, bounced: int = 0, hard: int = 0, complained: int = 0,
           start: int = 0) -> None:
    """`n` contacts each sent one message of the step; the first ones bounced / complained."""
    with store.transaction():
        _mailed(store, journey_id, step_id, n, bounced, hard, complained, start)


def _mailed(store, journey_id: str, step_id: str, n: int, bounced: int, hard: int, complained: int, start: int) -> None:
    for i in range(start, start + n):
        cid = store.create_contact(email=f"{step_id}-{i}@example.com")
        mid = f"<{i:032x}@nurture.local>".replace("<0", "<" + "ab"[step_id == "b"], 1)
        store.save_message(mid, contact_id=cid, journey_id=journey_id, step_id=step_id, channel="email", links=[])
        kw = {"journey_id": journey_id, "step_id": step_id, "message_id": mid}
        if i - start < bounced:
            store.record_event(cid, "email.bounced", data={"hard": i - start < hard}, **kw)  # at send time: no email.sent
        else:
            store.record_event(cid, "email.sent", **kw)
        if i - start < complained:
            store.record_event(cid, "email.complained", data={"source": "arf"}, **kw)


def test_levels_at_the_bulk_sender_thresholds() -> None:
    assert [level(r) for r in (None, 0.0, 0.001, 0.0011, 0.0029, 0.003, 0.01)] == [
        "no data", "ok", "ok", "warning", "warning", "alert", "alert"]


def test_rates_per_step_and_journey(store) -> None:
    mailed(store, "welcome-series", "a", 500, bounced=10, hard=4, complained=1)
    mailed(store, "welcome-series", "b", 500, complained=2, start=500)
    mailed(store, "other", "a", 10, complained=5, start=1000)  # another journey: not counted
    d = deliverability(store, "welcome-series")
    assert (d["sent"], d["bounced"], d["hard_bounced"], d["complained"]) == (1000, 10, 4, 3)
    assert (d["bounce_rate"], d["complaint_rate"], d["level"]) == (0.01, 0.003, "alert")
    assert d["steps"]["a"]["complaint_rate"] == 0.002 and d["steps"]["a"]["level"] == "warning"
    assert d["steps"]["b"]["bounce_rate"] == 0.0 and d["steps"]["b"]["level"] == "alert"  # 2 of 500 = 0.4%
    lines = deliverability_lines(d)
    assert lines[0].startswith("deliverability: bounces 1.00% (10 of 1000, 4 hard), complaints 0.30% (3): ALERT")
    assert lines[1] == "  a: bounces 2.00% (10), complaints 0.20% (1) WARNING"


def test_no_sends_no_lines(store) -> None:
    d = deliverability(store, "nothing-yet")
    assert d["level"] == "no data" and deliverability_lines(d) == []


def test_cli_report_shows_them(sqlite_store, sqlite_url, capsys) -> None:
    mailed(sqlite_store, "welcome-series", "welcome", 400, bounced=3, hard=3, complained=1)
    assert cli.main(["report", "welcome-series", "--db", sqlite_url, "--journeys", str(JOURNEYS)]) == 0
    out = capsys.readouterr().out
    assert "deliverability: bounces 0.75% (3 of 400, 3 hard), complaints 0.25% (1): WARNING (complaints over 0.1%)" in out
    assert cli.main(["report", "welcome-series", "--db", sqlite_url, "--journeys", str(JOURNEYS), "--format", "json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["deliverability"]["complained"] == 1 and report["deliverability"]["level"] == "warning"
