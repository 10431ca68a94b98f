"""validate: a conversion_rate objective without a goal is an error at the objective's key
(compiler/checks.py check_objectives); the shipped journeys have none."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli import main
from compiler.compile import compile_file

REPO = Path(__file__).resolve().parent.parent
JOURNEY = """journey: sale
entry: {{event: trial.started}}
{goal}objectives:
  open_rate: 0.4
  conversion_rate: 0.1
steps:
  - {{id: pause, type: wait, duration: 1d}}
"""
MESSAGE = "objective conversion_rate needs a `goal` (a condition that says the contact converted): add one, or drop the objective"


def write(tmp_path: Path, goal: str = "") -> Path:
    path = tmp_path / "sale.yaml"
    path.write_text(JOURNEY.format(goal=goal), encoding="utf-8")
    return path


def test_conversion_rate_without_a_goal_is_an_error_at_its_key(tmp_path: Path) -> None:
    result = compile_file(write(tmp_path))
    assert [(e.line, e.col, e.message) for e in result.errors] == [(5, 3, MESSAGE)]


def test_with_a_goal_it_compiles(tmp_path: Path) -> None:
    result = compile_file(write(tmp_path, goal='goal: \'stage == "customer"\'\n'))
    assert result.ok and dict(result.journey.objectives) == {"open_rate": 0.4, "conversion_rate": 0.1}


def test_cli_validate_says_file_line_col_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path)
    assert main(["validate", str(path)]) == 1
    assert f"{path}:5:3: {MESSAGE}" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["cart-abandonment", "double-opt-in", "re-engagement"])
def test_the_shipped_journeys_that_had_it_compile(name: str) -> None:
    result = compile_file(REPO / "journeys" / f"{name}.yaml")
    assert result.ok, result.errors
    assert result.journey.goal is not None or "conversion_rate" not in dict(result.journey.objectives)
