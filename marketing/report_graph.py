"""A journey's graph annotated with its report: runs at the entry, counts under every send step,
exits at exit steps and completions at the end (drawn by compiler.graph_svg)."""

from __future__ import annotations

from typing import Any

from compiler import graph, ir
from compiler.graph_svg import Drawing, best
from marketing.report_cells import pct

GRAPH_WIDTH = 1000  # the page's content width: wider graphs are drawn left to right if that is narrower


def send_notes(step: dict[str, Any]) -> list[str]:
    """What a send step's box says: volume, then human engagement, then what went wrong."""
    lines = [f"sent {step['sent']} · delivered {step['delivered']}"]
    if step["delivered"]:
        lines.append(f"opened {pct(step['open_rate'])} · clicked {pct(step['click_rate'])}")
    extra = [f"{label} {step[key]}" for key, label in (("skipped", "skipped"), ("bounced", "bounced"),
                                                       ("unsubscribed", "unsubscribed"), ("clicked_bot", "bot clicks"))
             if step.get(key)]
    return lines + ([" · ".join(extra)] if extra else [])


def notes(report: dict[str, Any]) -> dict[str, list[str]]:
    t = report["totals"]
    if not t["entered"]:
        return {graph.ENTRY: ["no runs yet"]}
    out = {graph.ENTRY: [f"entered {t['entered']}"], graph.END: [f"completed {t['completed']}"]}
    for step in report["steps"]:
        if "sent" in step:
            out[step["id"]] = send_notes(step)
        elif "exited" in step:
            out[step["id"]] = [f"exited {step['exited']}"]
    return out


def annotated(journey: ir.Journey, report: dict[str, Any], width: float = GRAPH_WIDTH) -> Drawing:
    """The journey's drawing with its counts, laid out for a page `width` wide (see
    compiler.graph_svg.best; compiler.graph_svg.render gives its SVG)."""
    return best(journey, notes(report), width)
