"""The journey report as one self-contained HTML page a marketing lead can forward: a summary
table first (a row per journey, linking to its section), then a section per journey (anchor
`journey-<id>`) with its key figures, objectives, funnel, annotated graph and per-step tables.
Inline CSS and SVG only: no script, no external resource."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any

from compiler import graph, ir
from compiler.graph_svg import STYLE, render
from marketing.deliverability import ALERT_RATE, WARNING_RATE
from marketing.report_cells import STEP_COLUMNS, cell, pct
from marketing.report_graph import annotated
from marketing.report_style import CSS

PRINT_WIDTH = 900  # a graph wider than this prints on a landscape page
STATUS_CLASS = {"met": "met", "not met": "not-met", "no data yet": "no-data", "no goal": "no-data"}
LEVEL_CLASS = {"ok": "met", "warning": "warn", "alert": "not-met", "no data": "no-data"}
SHORT = {"clicked_bot": "bot clicks", "unsubscribed": "unsub.", "click_to_open": "click to open"}
STEP_HEADERS = [SHORT.get(k, k.replace("_", " ")) for k in STEP_COLUMNS]
VARIANT_KEYS = ("entered", "converted", "conversion_rate", "sent", "opened", "clicked", "open_rate", "click_rate")


def anchor(journey_id: str) -> str:
    return f"journey-{journey_id}"


def _pill(status: str, text: str | None = None) -> str:
    return f'<span class="pill {STATUS_CLASS[status]}">{escape(text or status)}</span>'


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Cells are HTML already (escape text before); headers are text."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def objectives_summary(report: dict[str, Any]) -> str:
    """One cell: how many objectives are met / not met (and unmeasured), or why none is measured."""
    objectives = report["objectives"]
    if not objectives:
        return '<span class="na">none set</span>'
    counts = {s: sum(1 for o in objectives if o["status"] == s) for s in STATUS_CLASS}
    if not counts["met"] and not counts["not met"]:  # nothing measured: one word for the lot
        return _pill("no data yet" if counts["no data yet"] else "no goal")
    return " ".join(_pill(s, f"{n} {s}") for s, n in counts.items() if n)


def level_badge(level: str) -> str:
    """ok / warning / alert / no data, as a coloured pill."""
    return f'<span class="pill {LEVEL_CLASS[level]}">{escape(level)}</span>'


def _pct2(rate: float | None) -> str:
    """A rate with 2 decimals: the complaint thresholds are 0.1% and 0.3%."""
    return "-" if rate is None else f"{rate * 100:.2f}%"


def _deliverability_cells(d: dict[str, Any]) -> list[str]:
    """Bounce % (count), complaint % (count) and the level badge of one journey or step."""
    return [escape(f"{_pct2(d['bounce_rate'])} ({d['bounced']})" if d["sent"] else "-"),
            escape(f"{_pct2(d['complaint_rate'])} ({d['complained']})" if d["sent"] else "-"), level_badge(d["level"])]


def _summary_deliverability(t: dict[str, Any], d: dict[str, Any]) -> list[str]:
    """The summary's Bounced cell (count, and the email bounce rate under it) and Complaints cell
    (rate, count, badge)."""
    _, complaints, badge = _deliverability_cells(d)
    rate = f"<small>{escape(_pct2(d['bounce_rate']))}</small>" if d["sent"] else ""
    return [f'{t["bounced"]}{rate}', f'<span class="nowrap">{complaints}</span> {badge}']


def _deliverability(report: dict[str, Any]) -> str:
    """Per send step and for the journey: sent, bounces (of them hard), complaints, level."""
    d = report["deliverability"]
    if not d["sent"]:
        return ""
    def row(name: str, x: dict[str, Any]) -> list[str]:
        bounces, complaints, badge = _deliverability_cells(x)
        return [name, str(x["sent"]), bounces, str(x["hard_bounced"]), complaints, badge]
    order = [s["id"] for s in report["steps"]] + sorted(d["steps"])  # the journey's order; steps of older versions after
    rows = [row(escape(sid), d["steps"][sid]) for sid in dict.fromkeys(order) if d["steps"].get(sid, {}).get("sent")]
    rows.append(row("<b>journey</b>", d))
    return "<h3>Deliverability</h3>" + _table(["step", "sent", "bounces", "hard bounces", "complaints", "level"], rows, "steps")


def _rate_pair(t: dict[str, Any], key: str) -> list[str]:
    return [escape(pct(t[key])), escape(pct(t[f"{key}_bot"]))]


def _converted(report: dict[str, Any]) -> str:
    t = report["totals"]
    if not report.get("goal"):
        return '<span class="na">no goal</span>'
    rate = "" if t["conversion_rate"] is None else f" <small>({escape(pct(t['conversion_rate']))})</small>"
    return f"{t['converted']}{rate}"


def summary(pairs: list[tuple[ir.Journey, dict[str, Any]]]) -> str:
    head = ("<thead><tr><th rowspan=2>Journey</th><th rowspan=2>Runs</th><th rowspan=2>Sent</th>"
            "<th rowspan=2>Delivered</th><th colspan=2>Open rate</th><th colspan=2>Click rate</th>"
            "<th rowspan=2>Bounced</th><th rowspan=2>Com&shy;plaints</th><th rowspan=2>Unsub&shy;scribed</th>"
            "<th rowspan=2>Converted (goal)</th><th rowspan=2>Objectives</th></tr>"
            "<tr><th>humans</th><th>bots</th><th>humans</th><th>bots</th></tr></thead>")
    rows = []
    for _, r in pairs:
        t = r["totals"]
        name = (f'<a href="#{escape(anchor(r["journey"]))}">{escape(r["title"])}</a>'
                + (f"<small>{escape(r['journey'])}</small>" if r["title"] != r["journey"] else ""))
        cells = [name, str(t["entered"]), str(t["sent"]), str(t["delivered"]), *_rate_pair(t, "open_rate"),
                 *_rate_pair(t, "click_rate"), *_summary_deliverability(t, r["deliverability"]),
                 str(t["unsubscribed"]), _converted(r),
                 objectives_summary(r)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<section id="summary"><h2>Summary</h2><div class="scroll"><table class="summary">{head}'
            f'<tbody>{"".join(rows)}</tbody></table></div>'
            '<p class="meta">Runs: contacts who entered. Rates are over delivered messages; a human click counts as '
            "an open; clicks and opens the tracking server judged automatic (security scanners, prefetchers) count "
            "as bots. An objective shows “no data yet” until there is something to measure it on, and “no goal” "
            "for a conversion rate where the journey has no goal to convert to. "
            f"Deliverability: bounced and complained email messages over those sent; a journey is marked "
            f"“warning” above {WARNING_RATE:.1%} complaints and “alert” at {ALERT_RATE:.1%} or more, the rate "
            "at which Gmail and Yahoo throttle or block a bulk sender.</p></section>")


def _kpis(t: dict[str, Any], report: dict[str, Any]) -> str:
    cards = [("Runs", str(t["entered"]), "contacts who entered"),
             ("Sent", str(t["sent"]), f"{t['delivered']} delivered, {t['bounced']} bounced"),
             ("Open rate", pct(t["open_rate"]), f"humans; bots {pct(t['open_rate_bot'])}"),
             ("Click rate", pct(t["click_rate"]), f"humans; bots {pct(t['click_rate_bot'])}"),
             ("Unsubscribed", str(t["unsubscribed"]), "from these messages")]
    if report.get("goal"):
        cards.append(("Converted", str(t["converted"]), f"{pct(t['conversion_rate'])} reached the goal"))
    return '<div class="kpis">' + "".join(f'<div class="kpi"><span>{escape(a)}</span><b>{escape(b)}</b>'
                                          f'<span>{escape(c)}</span></div>' for a, b, c in cards) + "</div>"


def _objectives(report: dict[str, Any]) -> str:
    if not report["objectives"]:
        return ""
    rows = [[escape(o["name"].replace("_", " ")), escape(f"≥ {pct(o['target'])}"), escape(pct(o["actual"])), _pill(o["status"])]
            for o in report["objectives"]]
    return "<h3>Objectives</h3>" + _table(["objective", "target", "actual", "status"], rows)


def funnel(t: dict[str, Any]) -> str:
    """Messages (sent, delivered, opened, clicked) and runs (entered, converted), each stage as a
    bar with its count and the rate that leads to it; each group scaled to its own first stage."""
    groups = (("Messages", [("Sent", "sent", None), ("Delivered", "delivered", "sent"),
                            ("Opened by humans", "opened", "delivered"), ("Clicked by humans", "clicked", "delivered")]),
              ("Runs", [("Entered", "entered", None), ("Converted (goal)", "converted", "entered")]))
    rows = []
    for group, stages in groups:
        top = max([t[key] for _, key, _ in stages] + [1])
        rows.append(f'<tr><th colspan="4">{group}</th></tr>')
        for label, key, of in stages:
            share = "" if of is None else f"{pct(t[key] / t[of]) if t[of] else '-'} of {of}"
            rows.append(f'<tr><td>{label}</td><td class="n">{t[key]}</td>'
                        f'<td class="bar"><i style="width:{100 * t[key] / top:.1f}%"></i></td><td>{escape(share)}</td></tr>')
    return f'<h3>Funnel</h3><table class="funnel">{"".join(rows)}</table>'


def _legend() -> str:
    kinds = (("entry", "entry"), ("send_email", "send"), ("branch", "decision or wait"), ("exit", "exit or end"))
    swatches = "".join(f'<span class="swatch" style="background:{STYLE[k][0]};border-color:{STYLE[k][1]}"></span>{escape(name)}'
                       for k, name in kinds)
    return (f"<figcaption>{swatches}. Send steps show sent and delivered messages and human open and click rates "
            "(over delivered); labels on the arrows say what takes each path; dashed arrows go back to an earlier step."
            "</figcaption>")


def _steps(report: dict[str, Any]) -> str:
    sends = [s for s in report["steps"] if "sent" in s]
    if not sends:
        return ""
    def skipped(s: dict[str, Any]) -> str:
        why = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["skipped_reasons"].items())
        return str(s["skipped"]) + (f"<small> ({escape(why)})</small>" if why else "")

    rows = [[escape(s["id"])] + [skipped(s) if k == "skipped" else escape(cell(k, s[k])) for k in STEP_COLUMNS]
            for s in sends]
    return "<h3>Send steps</h3>" + _table(["step", *STEP_HEADERS], rows, "steps")


def _extras(report: dict[str, Any]) -> str:
    out = ""
    if report["variants"]:
        rows = [[escape(v["variant"])] + [escape(cell(k, v[k])) for k in VARIANT_KEYS] for v in report["variants"]]
        out += "<h3>Split variants</h3>" + _table(["variant", *(k.replace("_", " ") for k in VARIANT_KEYS)], rows)
    if report["exits"]:
        out += "<h3>Exits</h3>" + _table(["reason", "runs"], [[escape(k), str(v)] for k, v in report["exits"].items()])
    return out


def journey_section(journey: ir.Journey, report: dict[str, Any]) -> str:
    t = report["totals"]
    meta = [f"<code>{escape(report['journey'])}</code>", f"version <code>{escape(report['version'])}</code>",
            escape(graph.entry_label(journey.entry))]
    if report.get("goal"):
        meta.append(f"goal <code>{escape(report['goal'])}</code>")
    drawing = annotated(journey, report)
    wide = drawing.layout.width > PRINT_WIDTH
    parts = [f'<section class="journey{" wide" if wide else ""}" id="{escape(anchor(report["journey"]))}">',
             f"<h2>{escape(report['title'])}</h2><p class=\"meta\">{' · '.join(meta)}</p>"]
    if t["entered"] or t["sent"]:
        parts += [_kpis(t, report), _objectives(report), funnel(t)]
    else:
        since = f" since {report['since']}" if report["since"] else ""
        parts += [f'<p class="empty">No runs yet{escape(since)}: nothing in the store for this journey. '
                  "Its figures and objectives fill in as contacts enter.</p>", _objectives(report)]
    parts += [f'<h3>Journey</h3><figure class="graph">{render(journey, drawing)}{_legend()}</figure>',
              _steps(report), _deliverability(report), _extras(report), '<p class="back"><a href="#summary">Back to the summary</a></p></section>']
    return "".join(parts)


def page(pairs: list[tuple[ir.Journey, dict[str, Any]]], *, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    since = next((r["since"] for _, r in pairs if r["since"]), None)
    scope = f"activity since {since}" if since else "all activity"
    header = (f"<header><h1>Journey report</h1><p class=\"meta\">{len(pairs)} journey{'s' if len(pairs) != 1 else ''} · "
              f"{escape(scope)} · generated {escape(now.strftime('%Y-%m-%d %H:%M UTC'))}</p></header>")
    body = header + summary(pairs) + "".join(journey_section(j, r) for j, r in pairs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Journey report</title>'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")
