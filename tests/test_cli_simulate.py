"""`python cli.py simulate`: a run stopped at the horizon says where it waits and until when,
`--horizon` reaches further, and the output carries no temporalio core log noise."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import cli
from commands.simulate import parse_horizon

ROOT = Path(__file__).resolve().parent.parent
JOURNEY = """\
journey: webinar-later
entry: {manual: true}
steps:
  - id: webinar-day
    type: wait
    until: "2030-03-01T09:00:00Z"
  - id: done
    type: exit
    reason: finished
"""
CONTACT = '{"email": "ana@example.com"}'


@pytest.fixture()
def journey_file(tmp_path: Path) -> Path:
    path = tmp_path / "webinar-later.yaml"
    path.write_text(JOURNEY, encoding="utf-8")
    return path


def test_a_wait_beyond_the_horizon_says_where_it_stopped_without_core_warnings(journey_file: Path) -> None:
    done = subprocess.run([sys.executable, "cli.py", "simulate", str(journey_file), "--contact", CONTACT],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("outcome: stopped at the 400-day horizon: step webinar-day waits until 2030-03-01 09:00 UTC;")
    assert lines[2].startswith("note: to see what follows, simulate with --horizon ") and lines[2].endswith("d")
    assert "WorkflowFailureError" not in done.stdout
    assert done.stderr == ""  # the core's heartbeat-capability WARN is silenced for CLI runs


def test_json_output_names_the_stop(journey_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", str(journey_file), "--contact", CONTACT, "--horizon", "30d", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["outcome"], out["reason"], out["steps"]) == ("stopped", "horizon", 1)
    assert out["stopped"]["step"] == "webinar-day"
    assert out["stopped"]["horizon_s"] == 30 * 86400
    assert out["stopped"]["message"].startswith("stopped at the 30-day horizon: step webinar-day waits until 2030-03-01")


def test_a_longer_horizon_runs_the_wait_to_its_end(journey_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", str(journey_file), "--contact", CONTACT, "--horizon", "5y"]) == 0
    out = capsys.readouterr().out
    assert "outcome: exited (finished); 2 step(s), 0 email(s), 0 SMS;" in out
    assert "webinar-day            wait       waited" in out


@pytest.mark.parametrize("text", ["3mo", "soon", "0d", "-2d"])
def test_a_bad_horizon_is_one_line_and_exit_1(journey_file: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    assert cli.main(["simulate", str(journey_file), "--contact", CONTACT, f"--horizon={text}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --horizon:") and err.count("\n") == 1


def test_horizon_durations() -> None:
    assert parse_horizon("400d") == timedelta(days=400)
    assert parse_horizon("2y") == timedelta(days=730)
    assert parse_horizon("1y30d") == timedelta(days=395)
    assert parse_horizon("12w") == timedelta(weeks=12)
