"""The journey report as a text table and as one self-contained HTML page (inline CSS and SVG,
no scripts, no external fetches): the journey graph annotated with each step's counts
(compiler.graph's edges and labels, laid out in layers) and a funnel chart."""

from __future__ import annotations

from html import escape
from typing import Any

from compiler import graph, ir

STEP_COLUMNS = ("entered", "sent", "skipped", "delivered", "opened", "clicked", "clicked_bot", "bounced",
                "unsubscribed", "open_rate", "click_rate", "click_to_open")
FUNNEL = ("entered", "sent", "delivered", "opened", "clicked", "converted")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def cell(key: str, value: Any) -> str:
    return pct(value) if key.endswith(("_rate", "_to_open")) else ("-" if value is None else str(value))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def to_table(report: dict[str, Any]) -> str:
    t = report["totals"]
    out = [f"{report['journey']} ({report['title']})" + (f" since {report['since']}" if report["since"] else ""),
           f"entered {t['entered']}  converted {t['converted']} ({pct(t['conversion_rate'])})  completed {t['completed']}"
           + "".join(f"  exited:{k} {v}" for k, v in report["exits"].items())]
    sends = [s for s in report["steps"] if "sent" in s]
    if sends:
        rows = [[s["id"]] + [cell(k, s[k]) for k in STEP_COLUMNS] for s in sends]
        rows.append(["total"] + [cell(k, t[k] if k in t else sum(s[k] for s in sends)) for k in STEP_COLUMNS])
        out += ["", _table(["step", *STEP_COLUMNS], rows)]
        reasons = [f"{s['id']}: " + ", ".join(f"{k} {v}" for k, v in s["skipped_reasons"].items())
                   for s in sends if s["skipped_reasons"]]
        out += ["skipped: " + "; ".join(reasons)] if reasons else []
    if report["variants"]:
        keys = ("entered", "converted", "conversion_rate", "sent", "opened", "clicked", "open_rate", "click_rate")
        out += ["", _table(["variant", *keys], [[v["variant"]] + [cell(k, v[k]) for k in keys] for v in report["variants"]])]
    for o in report["objectives"]:
        out.append(f"objective {o['name']} >= {pct(o['target'])}: {pct(o['actual'])} {'MET' if o['met'] else 'NOT MET'}")
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.met{color:#17803d}.missed{color:#b42318}svg text{font:12px system-ui,sans-serif}h2{margin-top:1.5em}"""
BOX_W, BOX_H, GAP_X, GAP_Y = 190, 54, 30, 46


def _layers(journey: ir.Journey) -> dict[str, int]:
    """Depth of every node from the entry (breadth first over compiler.graph.edges)."""
    edges = graph.edges(journey)
    depth = {graph.ENTRY: 0}
    frontier = [graph.ENTRY]
    while frontier:
        nxt = []
        for node in frontier:
            for e in edges:
                if e.src == node and e.dst not in depth:
                    depth[e.dst] = depth[node] + 1
                    nxt.append(e.dst)
        frontier = nxt
    for step in journey.steps:  # unreachable steps (validate forbids them) go last
        depth.setdefault(step.id, max(depth.values()) + 1)
    return depth


def graph_svg(journey: ir.Journey, report: dict[str, Any]) -> str:
    depth = _layers(journey)
    rows: dict[int, list[str]] = {}
    for node, d in sorted(depth.items(), key=lambda kv: kv[1]):
        rows.setdefault(d, []).append(node)
    pos = {n: (GAP_X + i * (BOX_W + GAP_X), GAP_Y / 2 + d * (BOX_H + GAP_Y)) for d, ns in rows.items() for i, n in enumerate(ns)}
    width = GAP_X + max(len(ns) for ns in rows.values()) * (BOX_W + GAP_X)
    height = GAP_Y + len(rows) * (BOX_H + GAP_Y)
    steps = {s["id"]: s for s in report["steps"]}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
             '<path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>']
    for e in graph.edges(journey):
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        parts.append(f'<line x1="{x1 + BOX_W / 2}" y1="{y1 + BOX_H}" x2="{x2 + BOX_W / 2}" y2="{y2}" stroke="#888" marker-end="url(#a)"/>')
        if e.label:
            parts.append(f'<text x="{(x1 + x2) / 2 + BOX_W / 2 + 4}" y="{(y1 + BOX_H + y2) / 2}" fill="#666">{escape(e.label[:40])}</text>')
    for node, (x, y) in pos.items():
        step = steps.get(node, {})
        title = {graph.ENTRY: graph.entry_label(journey.entry), graph.END: "end"}.get(node, f"{node} ({step.get('type', '')})")
        counts = f"sent {step['sent']} · opened {step['opened']} · clicked {step['clicked']}" if "sent" in step else ""
        if node == graph.ENTRY:
            counts = f"entered {report['totals']['entered']}"
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#f4f7fb" stroke="#4a6fa5"/>'
                     f'<text x="{x + 8}" y="{y + 20}" font-weight="bold">{escape(title[:30])}</text>'
                     f'<text x="{x + 8}" y="{y + 40}" fill="#333">{escape(counts)}</text>')
    return "".join(parts) + "</svg>"


def funnel_svg(report: dict[str, Any]) -> str:
    t = report["totals"]
    top = max(t["entered"], t["sent"], 1)
    bars = []
    for i, key in enumerate(FUNNEL):
        w = 500 * t[key] / top
        bars.append(f'<rect x="110" y="{10 + i * 30}" width="{w:.1f}" height="22" fill="#4a6fa5"/>'
                    f'<text x="0" y="{26 + i * 30}">{key}</text><text x="{116 + w:.1f}" y="{26 + i * 30}">{t[key]}</text>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="680" height="{20 + 30 * len(FUNNEL)}" role="img">{"".join(bars)}</svg>'


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def journey_html(journey: ir.Journey, report: dict[str, Any]) -> str:
    sends = [s for s in report["steps"] if "sent" in s]
    parts = [f"<h1>{escape(report['title'])} <small>({escape(report['journey'])})</small></h1>",
             f"<pre>{escape(to_table(report).split(chr(10), 2)[1])}</pre>",
             "<h2>Funnel</h2>", funnel_svg(report), "<h2>Journey</h2>", graph_svg(journey, report)]
    if sends:
        rows = [[s["id"]] + [cell(k, s[k]) for k in STEP_COLUMNS] + [", ".join(f"{k} {v}" for k, v in s["skipped_reasons"].items())]
                for s in sends]
        parts += ["<h2>Steps</h2>", _html_table(["step", *STEP_COLUMNS, "skipped why"], rows)]
    if report["variants"]:
        keys = ("entered", "converted", "conversion_rate", "sent", "opened", "clicked", "open_rate", "click_rate")
        parts += ["<h2>Split variants</h2>", _html_table(["variant", *keys], [[v["variant"]] + [cell(k, v[k]) for k in keys] for v in report["variants"]])]
    if report["objectives"]:
        items = "".join(f'<li class="{"met" if o["met"] else "missed"}">{escape(o["name"])} target {pct(o["target"])}: '
                        f'{pct(o["actual"])} — {"met" if o["met"] else "not met"}</li>' for o in report["objectives"])
        parts += ["<h2>Objectives</h2>", f"<ul>{items}</ul>"]
    return "<section>" + "".join(parts) + "</section>"


def to_html(pairs: list[tuple[ir.Journey, dict[str, Any]]]) -> str:
    body = "<hr>".join(journey_html(j, r) for j, r in pairs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Nurture report</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
