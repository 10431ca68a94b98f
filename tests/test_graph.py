"""Pictures of journeys: Mermaid, DOT, SVG (or a clear error without Graphviz), and the
Graphviz-free drawing the report page uses (compiler.graph_layout, compiler.graph_svg)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cli
from compiler.compile import compile_file
from compiler.graph import edges, format_duration, to_dot, to_mermaid
from compiler.graph_layout import Box, EdgeIn, layout
from compiler.graph_svg import best, draw, lay_out, text_width, wrap

ROOT = Path(__file__).resolve().parent.parent
JOURNEY = """journey: small
entry: {event: cart.abandoned, key: cart_id}
policy: {consent: {email: marketing}}
steps:
  - {id: remind, type: send_email, template: welcome}
  - id: engaged
    type: wait_for
    timeout: 1d12h
    events:
      - {event: email.clicked, of: remind, next: done}
    on_timeout: check
  - id: check
    type: branch
    cases:
      - {when: 'score > 10 and "vip" in tags', next: ab}
    default: end
  - id: ab
    type: split
    variants:
      - {name: a, percent: 50, next: remind}
      - {name: b, percent: 40, next: done}
    holdout: 10
  - {id: done, type: exit, reason: converted}
"""


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    (tmp_path / "templates").symlink_to(Path(__file__).parent / "compiler_cases" / "templates")
    path = tmp_path / "small.yaml"
    path.write_text(JOURNEY)
    return path


def test_mermaid(small: Path) -> None:
    journey = compile_file(small).journey
    assert journey is not None
    assert to_mermaid(journey) == "\n".join(
        [
            "flowchart TD",
            '  entry(["entry: event cart.abandoned per cart_id"])',
            '  s0["<b>remind</b><br/>send_email<br/><i>welcome</i>"]',
            '  s1["<b>engaged</b><br/>wait_for"]',
            '  s2{{"<b>check</b><br/>branch"}}',
            '  s3{{"<b>ab</b><br/>split"}}',
            '  s4(["<b>done</b><br/>exit<br/><i>converted</i>"])',
            '  finish(("end"))',
            "  entry --> s0",
            "  s0 --> s1",
            '  s1 -->|"email.clicked of remind"| s4',
            '  s1 -->|"timeout 1d12h"| s2',
            '  s2 -->|"score #gt; 10 and #quot;vip#quot; in tags"| s3',
            '  s2 -->|"default"| finish',
            '  s3 -->|"a 50%"| s0',
            '  s3 -->|"b 40%"| s4',
            '  s3 -->|"holdout 10%"| finish',
        ]
    ) + "\n"


def test_every_step_is_a_node_and_every_target_an_edge() -> None:
    journey = compile_file(ROOT / "journeys" / "trial-to-paid.yaml").journey
    assert journey is not None
    text = to_mermaid(journey)
    for step in journey.steps:
        assert f"<b>{step.id}</b><br/>{step.type}" in text
    pairs = {(e.src, e.dst) for e in edges(journey)}
    for step in journey.steps:
        for target in step.targets():
            assert (step.id, target) in pairs


def test_dot(small: Path) -> None:
    journey = compile_file(small).journey
    assert journey is not None
    dot = to_dot(journey)
    assert dot.startswith('digraph "small" {\n')
    assert '  "check" [label="check\\nbranch", shape=diamond];' in dot
    assert '  "check" -> "ab" [label="score > 10 and \\"vip\\" in tags"];' in dot
    assert '  "engaged" -> "check" [label="timeout 1d12h"];' in dot
    assert dot.endswith("}\n")


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 90, 86400, -86400, 9 * 86400)] == ["0s", "1m30s", "1d", "-1d", "1w2d"]


def test_cli_by_id_to_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "g.mmd"
    assert cli.main(["graph", "trial-to-paid", "-o", str(out)]) == 0
    assert out.read_text().startswith("flowchart TD\n")


def test_cli_dot_to_stdout(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["graph", str(small), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith('digraph "small"')


def test_cli_unknown_journey(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert cli.main(["graph", "no-such-journey"]) == 1
    assert capsys.readouterr().err == "no-such-journey: no such journey (looked for journeys/no-such-journey.yaml)\n"


def test_cli_invalid_journey_prints_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("journey: bad\n")
    assert cli.main(["graph", str(bad)]) == 1
    assert f"{bad}:1:1: missing key \"entry\"" in capsys.readouterr().err


def test_svg_without_graphviz(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report page's drawing, as a standalone file, with nothing on PATH."""
    out = tmp_path / "g.svg"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli.main(["graph", str(small), "--format", "svg", "-o", str(out)]) == 0
    svg = ElementTree.parse(out).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"remind", "engaged", "check", "ab", "done", 'score > 10 and "vip" in tags', "holdout 10%"} <= texts


# ---------------------------------------------------------------- the drawing the report uses (no Graphviz)


def demo_journeys() -> list:
    found = [compile_file(p).journey for p in sorted((ROOT / "journeys").glob("*.yaml"))]
    return [j for j in found if j is not None]


def laid_out(journey, vertical: bool):
    return lay_out(journey, {"__entry__": ["entered 12"]}, vertical=vertical).layout


def overlap(a: Box, b: Box, slack: float = 0.5) -> bool:
    return a.x + slack < b.x + b.w and b.x + slack < a.x + a.w and a.y + slack < b.y + b.h and b.y + slack < a.y + a.h


@pytest.mark.parametrize("vertical", [True, False], ids=["top-down", "left-right"])
def test_layout_boxes_labels_and_lines_never_collide(vertical: bool) -> None:
    """Every demo journey, both ways: no two boxes or labels overlap, all inside the drawing, and a
    line only passes through its own ends and its own label (each piece of a line stays inside the
    rectangle of its two points, so checking those rectangles is enough)."""
    for journey in demo_journeys():
        assert_no_collisions(laid_out(journey, vertical), journey.id)


def assert_no_collisions(laid, name: str) -> None:
    boxes = [(("node", n), b) for n, b in laid.nodes.items()]
    boxes += [(("label", i), e.label) for i, e in enumerate(laid.edges) if e.label]
    for k, (a_id, a) in enumerate(boxes):
        assert -0.01 <= a.x and a.x + a.w <= laid.width + 0.01 and -0.01 <= a.y and a.y + a.h <= laid.height + 0.01, (name, a_id)
        for b_id, b in boxes[:k]:
            assert not overlap(a, b), (name, a_id, b_id)
    for i, e in enumerate(laid.edges):
        assert len(e.points) >= 2, (name, e)
        own = {("node", e.src), ("node", e.dst), ("label", i)}
        for (x1, y1), (x2, y2) in zip(e.points, e.points[1:]):
            piece = Box(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
            hit = [b_id for b_id, b in boxes if b_id not in own and overlap(piece, b, slack=0.01)]
            assert not hit, (name, e.src, e.dst, hit)


def test_edges_run_from_their_source_box_to_their_target_box() -> None:
    def on_border(p: tuple[float, float], b: Box) -> bool:
        x, y = p
        inside = b.x - 0.5 <= x <= b.x + b.w + 0.5 and b.y - 0.5 <= y <= b.y + b.h + 0.5
        return inside and min(abs(x - b.x), abs(x - b.x - b.w), abs(y - b.y), abs(y - b.y - b.h)) < 0.5

    for journey in demo_journeys():
        for vertical in (True, False):
            laid = laid_out(journey, vertical)
            for e in laid.edges:
                assert on_border(e.points[0], laid.nodes[e.src]) and on_border(e.points[-1], laid.nodes[e.dst]), (journey.id, e)


def test_a_wide_journey_is_drawn_left_to_right_when_that_is_narrower() -> None:
    by_id = {j.id: j for j in demo_journeys()}
    cube, trial = by_id["cube-nurture"], by_id["trial-to-paid"]
    down, across = laid_out(cube, True), laid_out(cube, False)
    assert across.width < down.width and down.width > 1000
    assert best(cube, width=1000).layout is not None and best(cube, width=1000).layout.vertical is False
    assert best(trial, width=1000).layout.vertical is True
    svg = draw(trial, width=1000)
    assert svg.startswith("<svg viewBox=") and laid_out(trial, True).width <= 1000  # fits: top to bottom
    assert 'xmlns="http://www.w3.org/2000/svg"' in draw(trial, standalone=True)


def test_loops_are_dashed_and_point_back(small: Path) -> None:
    journey = compile_file(small).journey
    assert journey is not None
    laid = laid_out(journey, True)
    (loop,) = [e for e in laid.edges if e.back]
    assert (loop.src, loop.dst) == ("ab", "remind") and loop.label is not None
    assert loop.points[-1][1] > laid.nodes["remind"].y  # it comes back up into remind from below
    assert 'stroke-dasharray="5 3"' in draw(journey)


def test_wrap_keeps_every_character_and_the_width() -> None:
    for value in ('attributes.brand_knowledge == "high" and attributes.affinity == "high"',
                  "x" * 90, "stage in [\"sql\", \"opportunity\"]", "short", ""):
        lines = wrap(value, 150, 11)
        assert "".join(lines) == value
        assert all(text_width(line.rstrip(), 11) <= 150 or len(line) == 1 for line in lines)
    assert wrap("attributes.brand_knowledge == 1", 150, 11)[0] == "attributes."  # a long word breaks after a dot


def test_every_label_of_every_demo_journey_is_whole_in_its_svg() -> None:
    """Never cut: each string is one <text> whose lines (tspans) join back to the whole."""
    from compiler.graph import entry_label, step_detail

    for journey in demo_journeys():
        svg = ElementTree.fromstring(draw(journey, {"__entry__": ["entered 12"]}, standalone=True))
        texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
        wanted = {e.label for e in edges(journey) if e.label} | {s.id for s in journey.steps} | {entry_label(journey.entry)}
        wanted |= {s.type + (f" · {step_detail(s)}" if step_detail(s) else "") for s in journey.steps}
        assert wanted | {"entered 12"} <= texts, (journey.id, wanted - texts)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_graph_lays_out_without_collisions(data: st.DataObject) -> None:
    """Random graphs (loops, steps leading to themselves, parallel edges, several roots, labels of
    any size), both ways: the same guarantees as for the demo journeys."""
    n = data.draw(st.integers(1, 10))
    names = [f"n{i}" for i in range(n)]
    size = st.tuples(st.floats(8, 200), st.floats(8, 90))
    nodes = {name: data.draw(size) for name in names}
    edge = st.builds(EdgeIn, st.sampled_from(names), st.sampled_from(names), st.none() | size)
    ins = data.draw(st.lists(edge, max_size=18))
    for vertical in (True, False):
        laid = layout(nodes, ins, vertical=vertical)
        assert_no_collisions(laid, "random")


def test_a_step_that_leads_to_itself_loops_beside_its_box() -> None:
    from compiler import ir
    from tests.journey_builder import journey

    j = journey(ir.SendEmail(id="hello", template="welcome"),
                ir.WaitFor(id="listen", events=(ir.EventCase(event="page.visited", next="listen"),
                                                ir.EventCase(event="email.clicked", of="hello", next="done")),
                           timeout_s=86400, on_timeout="done"),
                ir.Exit(id="done", reason="ok"), emails=["welcome"])
    for vertical in (True, False):
        laid = lay_out(j, vertical=vertical).layout
        assert_no_collisions(laid, j.id)
        (loop,) = [e for e in laid.edges if e.src == e.dst == "listen"]
        b = laid.nodes["listen"]
        far = b.x + b.w if vertical else b.y + b.h
        assert loop.back and loop.label is not None and {p[0 if vertical else 1] for p in loop.points} == {far, far + 18}
    assert "page.visited" in {"".join(t.itertext()) for t in ElementTree.fromstring(draw(j)).iter("text")}
