"""Pictures of journeys: Mermaid, DOT, SVG (or a clear error without Graphviz)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cli
from compiler.compile import compile_file
from compiler.graph import edges, format_duration, to_dot, to_mermaid

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


def test_svg(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.svg"
    if shutil.which("dot"):
        assert cli.main(["graph", str(small), "--format", "svg", "-o", str(out)]) == 0
        assert "<svg" in out.read_text()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Graphviz here
    assert cli.main(["graph", str(small), "--format", "svg", "-o", str(out)]) == 1
    assert "SVG needs Graphviz's `dot` on PATH" in capsys.readouterr().err
