"""Pictures of a journey: Mermaid (GitHub renders it) and Graphviz DOT; SVG is drawn without
Graphviz by compiler.graph_svg (the same drawing as the report page).

Every step is a node labelled with its id and type; every edge is labelled with what
takes it (event, timeout, condition, variant). `edges()` is the shared model, so
reports can draw from it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import ir

ENTRY, END = "__entry__", "__end__"


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str  # a step id, or END
    label: str = ""


def format_duration(seconds: int) -> str:
    """86400 -> "1d", 5400 -> "1h30m", -86400 -> "-1d"."""
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return sign + ("".join(parts) or "0s")


def entry_label(entry: ir.Entry) -> str:
    what = {"event": f"event {entry.event}", "segment": f"segment {entry.segment}", "manual": "manual"}
    return "entry: " + what.get(entry.kind, entry.kind) + (f" per {entry.key}" if entry.key else "")


def step_detail(step: ir.Step) -> str:
    """A short second line for a node: template, duration, reason..."""
    if isinstance(step, (ir.SendEmail, ir.SendSms)):
        return step.template
    if isinstance(step, ir.Notify):
        return f"to {step.to}: {step.template}"
    if isinstance(step, ir.Wait):
        if step.until_attribute:
            return f"until {step.until_attribute} {format_duration(step.offset_s)}"
        return f"until {step.until}" if step.until else format_duration(step.duration_s or 0)
    if isinstance(step, ir.Webhook):
        return f"{step.method} {step.url}"
    if isinstance(step, ir.Exit):
        return step.reason
    if isinstance(step, ir.SetProfile) and step.stage:
        return f"stage {step.stage}"
    return ""


def edges(journey: ir.Journey) -> list[Edge]:
    out = [Edge(ENTRY, journey.first_step)]
    for step in journey.steps:
        out.extend(_step_edges(step))
    return out


def _step_edges(step: ir.Step) -> list[Edge]:
    def to(dst: str | None, label: str = "") -> Edge:
        return Edge(step.id, dst or END, label)

    if isinstance(step, ir.WaitFor):
        out = [to(c.next, c.event + (f" of {c.of}" if c.of else "")) for c in step.events]
        return out + [to(step.on_timeout, f"timeout {format_duration(step.timeout_s or 0)}")]
    if isinstance(step, ir.Branch):
        return [to(c.next, c.when) for c in step.cases] + [to(step.default, "default")]
    if isinstance(step, ir.Split):
        out = [to(v.next, f"{v.name} {v.percent}%") for v in step.variants]
        return out + ([to(step.next, f"holdout {step.holdout}%")] if step.holdout else [])
    if isinstance(step, ir.Exit):
        return []
    return [to(step.next)]


def _ends(journey: ir.Journey) -> bool:
    return any(e.dst == END for e in edges(journey))


# ---------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(journey: ir.Journey) -> str:
    ids = {s.id: f"s{i}" for i, s in enumerate(journey.steps)} | {ENTRY: "entry", END: "finish"}
    lines = ["flowchart TD", f'  entry(["{_mermaid_text(entry_label(journey.entry))}"])']
    for step in journey.steps:
        detail = step_detail(step)
        label = f"<b>{_mermaid_text(step.id)}</b><br/>{step.type}" + (f"<br/><i>{_mermaid_text(detail)}</i>" if detail else "")
        shape = ('{{"', '"}}') if step.type in ("branch", "split") else (('(["', '"])') if step.type == "exit" else ('["', '"]'))
        lines.append(f"  {ids[step.id]}{shape[0]}{label}{shape[1]}")
    if _ends(journey):
        lines.append('  finish(("end"))')
    for e in edges(journey):
        arrow = f' -->|"{_mermaid_text(e.label)}"| ' if e.label else " --> "
        lines.append(f"  {ids[e.src]}{arrow}{ids[e.dst]}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- DOT / SVG


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(journey: ir.Journey) -> str:
    lines = [
        f'digraph "{_dot_text(journey.id)}" {{',
        "  rankdir=TB;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f'  "{ENTRY}" [label="{_dot_text(entry_label(journey.entry))}", shape=oval];',
    ]
    for step in journey.steps:
        detail = step_detail(step)
        label = f"{step.id}\n{step.type}" + (f"\n{detail}" if detail else "")
        shape = {"branch": "diamond", "split": "diamond", "exit": "doubleoctagon"}.get(step.type, "box")
        lines.append(f'  "{_dot_text(step.id)}" [label="{_dot_text(label)}", shape={shape}];')
    if _ends(journey):
        lines.append(f'  "{END}" [label="end", shape=circle];')
    for e in edges(journey):
        attrs = f' [label="{_dot_text(e.label)}"]' if e.label else ""
        lines.append(f'  "{_dot_text(e.src)}" -> "{_dot_text(e.dst)}"{attrs};')
    return "\n".join(lines) + "\n}\n"

