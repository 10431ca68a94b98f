"""A journey drawn as SVG without Graphviz (compiler.graph_layout), for the report page: every step
a box (id, type and detail, optional notes such as counts), every edge labelled with what takes it.
Text is wrapped, never cut: widths are estimated from DejaVu Sans' advances (the widest of the
usual sans-serif fonts, so other fonts fit too), and the boxes are sized to the wrapped text.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from compiler import graph, ir
from compiler.graph_layout import EdgeIn, Layout, layout, svg_path

FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
PAD_X, PAD_Y = 9.0, 7.0
NODE_TEXT_W, LABEL_TEXT_W = 180.0, 150.0  # widest line before wrapping
NARROW_NODE_TEXT_W, NARROW_LABEL_TEXT_W = 130.0, 115.0  # the same, left to right
TITLE, SMALL, LABEL = 13.0, 11.0, 11.0  # font sizes

# DejaVu Sans advance widths in em; anything else counts as 0.65 (uppercase 0.72).
_ADVANCE = {
    **dict.fromkeys("il.,:;|!'", 0.3), **dict.fromkeys("jf", 0.3), "t": 0.4, "r": 0.42, " ": 0.32,
    **dict.fromkeys("-()[]{}/", 0.39), "_": 0.5, '"': 0.46, "s": 0.53, "c": 0.55, "z": 0.53,
    **dict.fromkeys("kvxy", 0.6), "m": 0.98, "w": 0.82, "%": 0.96, "@": 1.0, "·": 0.32,
    **dict.fromkeys("=<>+#~^*", 0.84), "&": 0.78,
}
_BREAK_AFTER = " -/"  # and, in a word too wide for a line, after "." or ",", else "_", else anywhere


def text_width(text: str, size: float, bold: bool = False) -> float:
    em = sum(_ADVANCE.get(ch, 0.72 if ch.isupper() else 0.65) for ch in text)
    return em * size * (1.1 if bold else 1.0)


def wrap(text: str, max_width: float, size: float, bold: bool = False) -> list[str]:
    """Lines no wider than max_width (a word wider than that is split), breaking after spaces and
    punctuation; joined, the lines give back the text exactly."""
    words, word = [], ""
    for ch in text:
        word += ch
        if ch in _BREAK_AFTER:
            words.append(word)
            word = ""
    words += [word] if word else []
    lines: list[str] = []
    line = ""
    for w in words:
        if line and text_width((line + w).rstrip(), size, bold) > max_width:
            lines.append(line)
            line = ""
        while not line and text_width(w.rstrip(), size, bold) > max_width:  # one word too wide: split it
            fits = [n for n in range(1, len(w)) if text_width(w[:n], size, bold) <= max_width] or [1]
            cut = max([n for n in fits if w[n - 1] in ".,"] or [n for n in fits if w[n - 1] == "_"] or fits)
            lines.append(w[:cut])
            w = w[cut:]
        line += w
    return lines + ([line] if line or not lines else [])


@dataclass(frozen=True)
class Text:
    """One string drawn in a box, wrapped: its lines, size, weight and colour."""

    lines: tuple[str, ...]
    size: float
    bold: bool = False
    color: str = "#222"

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * 1.3

    @property
    def width(self) -> float:
        return max(text_width(line.rstrip(), self.size, self.bold) for line in self.lines)


def text(value: str, size: float, *, bold: bool = False, color: str = "#222", width: float = NODE_TEXT_W) -> Text:
    return Text(tuple(wrap(value, width, size, bold)), size, bold, color)


# (fill, stroke) of a box by step type; entry and end have their own.
STYLE = {"entry": ("#e7f4ec", "#2f7d4a"), "end": ("#f0f0f0", "#6b6b6b"), "exit": ("#f0f0f0", "#6b6b6b"),
         "send_email": ("#eaf1fb", "#3d66a3"), "send_sms": ("#eaf1fb", "#3d66a3"),
         "branch": ("#fdf5e4", "#a8741a"), "split": ("#fdf5e4", "#a8741a"), "wait_for": ("#fdf5e4", "#a8741a")}
PLAIN = ("#ffffff", "#8a8a8a")


def node_texts(journey: ir.Journey, notes: dict[str, list[str]] | None = None,
               width: float = NODE_TEXT_W) -> dict[str, list[Text]]:
    """What each box says: its title, type and detail, then the notes given for it."""
    notes = notes or {}
    out = {graph.ENTRY: [text(graph.entry_label(journey.entry), TITLE, bold=True, width=width)]}
    for step in journey.steps:
        detail = graph.step_detail(step)
        out[step.id] = [text(step.id, TITLE, bold=True, width=width),
                        text(step.type + (f" · {detail}" if detail else ""), SMALL, color="#555", width=width)]
    if any(e.dst == graph.END for e in graph.edges(journey)):
        out[graph.END] = [text("end", TITLE, bold=True)]
    for node, lines in notes.items():
        if node in out:
            out[node] += [text(line, SMALL, color="#1a1a1a", width=width) for line in lines]
    return out


def box_size(texts: list[Text]) -> tuple[float, float]:
    return (max(t.width for t in texts) + 2 * PAD_X + 2, sum(t.height for t in texts) + 2 * PAD_Y)


def _draw_text(t: Text, x: float, y: float) -> str:
    weight = ' font-weight="bold"' if t.bold else ""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{t.size * (1.0 if i == 0 else 1.3):.1f}">{escape(line)}</tspan>'
                    for i, line in enumerate(t.lines))
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{t.size:g}" fill="{t.color}"{weight}>{spans}</text>'


@dataclass(frozen=True)
class Drawing:
    layout: Layout
    texts: dict[str, list[Text]]
    labels: dict[int, Text]  # by edge index


def lay_out(journey: ir.Journey, notes: dict[str, list[str]] | None = None, *, vertical: bool = True) -> Drawing:
    """Texts wrapped and boxes placed; left to right, lines wrap narrower (columns are what
    makes such a drawing wide, and height is cheap)."""
    node_w, label_w = (NODE_TEXT_W, LABEL_TEXT_W) if vertical else (NARROW_NODE_TEXT_W, NARROW_LABEL_TEXT_W)
    texts = node_texts(journey, notes, node_w)
    edges = graph.edges(journey)
    labels = {i: text(e.label, LABEL, color="#3b3b3b", width=label_w) for i, e in enumerate(edges) if e.label}
    sizes = {n: box_size(ts) for n, ts in texts.items()}
    laid = layout(sizes, [EdgeIn(e.src, e.dst, box_size([labels[i]]) if i in labels else None)
                          for i, e in enumerate(edges)], vertical=vertical)
    return Drawing(laid, texts, labels)


def best(journey: ir.Journey, notes: dict[str, list[str]] | None = None, width: float = 1000) -> Drawing:
    """Top to bottom if that fits `width`; else whichever way is narrower (less scaled down)."""
    down = lay_out(journey, notes, vertical=True)
    if down.layout.width <= width:
        return down
    across = lay_out(journey, notes, vertical=False)
    return across if across.layout.width < down.layout.width else down


def draw(journey: ir.Journey, notes: dict[str, list[str]] | None = None, *, width: float = 1000,
         standalone: bool = False) -> str:
    """The journey as one <svg> sized to its content, with a viewBox so a page can scale it to
    its container (see `best` for the direction). `standalone` adds the XML namespace a
    separate .svg file needs."""
    return render(journey, best(journey, notes, width), standalone)


def render(journey: ir.Journey, drawing: Drawing, standalone: bool = False) -> str:
    """The SVG text of a laid-out drawing."""
    laid, texts, labels = drawing.layout, drawing.texts, drawing.labels
    xmlns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    parts = [f'<svg{xmlns} viewBox="0 0 {laid.width:.0f} {laid.height:.0f}" width="{laid.width:.0f}" '
             f'height="{laid.height:.0f}" role="img" aria-label="{escape(journey.id)} journey graph" '
             f'font-family="{FONT}">',
             f'<defs><marker id="arrow-{escape(journey.id)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#7d8799"/></marker></defs>']
    if standalone:  # a file opened on its own: white, not transparent
        parts.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    for e in laid.edges:
        dash = ' stroke-dasharray="5 3"' if e.back else ""
        parts.append(f'<path d="{svg_path(e.points, laid.vertical)}" fill="none" stroke="#7d8799" stroke-width="1.3"{dash} '
                     f'marker-end="url(#arrow-{escape(journey.id)})"/>')
    for i, e in enumerate(laid.edges):
        if e.label is not None and i in labels:
            b = e.label
            parts.append(f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="4" '
                         'fill="#ffffff" stroke="#d0d4dc"/>' + _draw_text(labels[i], b.x + PAD_X, b.y + PAD_Y - 2))
    step_types = {s.id: s.type for s in journey.steps} | {graph.ENTRY: "entry", graph.END: "end"}
    for node, b in laid.nodes.items():
        fill, stroke = STYLE.get(step_types.get(node, ""), PLAIN)
        rx = b.h / 2 if node in (graph.ENTRY, graph.END) else 7
        parts.append(f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="{min(rx, 18):.1f}" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>')
        y = b.y + PAD_Y - 2
        for t in texts[node]:
            parts.append(_draw_text(t, b.x + PAD_X, y))
            y += t.height
    return "".join(parts) + "</svg>"
