"""`python cli.py validate`: output, exit codes, JSON, folders and config-file dispatch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from compiler import config_files
from compiler.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).parent / "compiler_cases"
JOURNEY_FILES = config_files.split_files([ROOT / "journeys"])[0]


def test_shipped_journeys_as_a_subprocess() -> None:
    done = subprocess.run([sys.executable, "cli.py", "validate", *map(str, JOURNEY_FILES)], cwd=ROOT, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"ok: {len(JOURNEY_FILES)} journeys\n", "")


def test_errors_one_per_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(CASES / "unknown-step-key.yaml", tmp_path)
    shutil.copy(CASES / "split-sum.yaml", tmp_path)
    (tmp_path / "templates").symlink_to(CASES / "templates")
    assert cli.main(["validate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'{tmp_path}/split-sum.yaml:9:7: step "ab": variant percents (45 + 45) plus holdout (5) make 95, not 100',
        f'{tmp_path}/unknown-step-key.yaml:6:5: step "welcome": missing key "template"',
        f'{tmp_path}/unknown-step-key.yaml:8:5: unknown key "tempalte" in step "welcome" (send_email) (did you mean "template"?)',
    ]
    assert err == "3 error(s) in 2 file(s)\n"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(CASES / "bad-duration.yaml", tmp_path)
    (tmp_path / "templates").symlink_to(CASES / "templates")
    assert cli.main(["validate", "--format", "json", str(tmp_path / "bad-duration.yaml")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["journeys"] == []
    assert [(e["line"], e["col"]) for e in report["errors"]] == [(11, 15)]
    assert report["errors"][0]["path"] == str(tmp_path / "bad-duration.yaml")


def test_json_format_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--format", "json", str(ROOT / "journeys" / "trial-to-paid.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["errors"] == []
    assert [j["id"] for j in report["journeys"]] == ["trial-to-paid"] and len(report["journeys"][0]["version"]) == 12


def test_a_folder_means_its_yaml_files_and_its_scenarios_not_other_subfolders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "broken.yaml").write_text("not: a journey\n")
    (tmp_path / "notes.txt").write_text("ignored")
    assert cli.main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "ok: 0 journeys\n"
    (tmp_path / "tests").mkdir()  # journey scenarios: checked against their own schema
    (tmp_path / "tests" / "broken.yaml").write_text("journey: x\nscenarios: []\n")
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "tests/broken.yaml:2:12: scenarios: [] should be non-empty" in capsys.readouterr().out


def test_config_files_are_dispatched_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "later.yaml").write_text("anything: [")  # a known config name with no validator yet: skipped
    (tmp_path / "mine.yaml").write_text("x: 1\n")
    seen: list[Path] = []

    def validate_mine(path: Path) -> list[Diagnostic]:
        seen.append(path)
        return [Diagnostic(str(path), 1, 1, "x is not allowed")]

    monkeypatch.setattr(config_files, "CONFIG_FILE_NAMES", config_files.CONFIG_FILE_NAMES | {"later.yaml"})
    monkeypatch.setitem(config_files.CONFIG_VALIDATORS, "mine.yaml", validate_mine)
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"{tmp_path}/mine.yaml:1:1: x is not allowed\n"
    assert seen == [tmp_path / "mine.yaml"]


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "gone.yaml")]) == 1
    assert capsys.readouterr().out == f"{tmp_path}/gone.yaml:1:1: cannot read the file: No such file or directory\n"


def test_many_files_in_parallel_keep_their_order(tmp_path: Path) -> None:
    from compiler.compile import PARALLEL_FROM, compile_paths

    (tmp_path / "templates").symlink_to(ROOT / "journeys" / "templates")
    text = (ROOT / "journeys" / "trial-to-paid.yaml").read_text()
    names = [f"j{i:03d}" for i in range(PARALLEL_FROM + 5)]
    for name in names:
        (tmp_path / f"{name}.yaml").write_text(text.replace("journey: trial-to-paid", f"journey: {name}"))
    (tmp_path / f"{names[7]}.yaml").write_text("journey: wrong\n")
    results = compile_paths([tmp_path], workers=2)
    assert [Path(r.path).stem for r in results] == names
    assert [Path(r.path).stem for r in results if r.errors] == [names[7]]
    assert all(r.journey and r.journey.id == Path(r.path).stem for r in results if not r.errors)


def test_a_config_rule_with_two_exclusive_keys_points_at_the_second_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "journeys" / "stages.yaml").read_text()
    bad = text.replace("    score: {at_least: 10}\n", "    score: {at_least: 10}\n    event: page.visited\n", 1)
    (tmp_path / "stages.yaml").write_text(bad)
    line = bad.splitlines().index("    event: page.visited") + 1
    assert cli.main(["validate", str(tmp_path / "stages.yaml")]) == 1
    assert capsys.readouterr().out == f'{tmp_path}/stages.yaml:{line}:5: rules[0]: "event" cannot go with "score"\n'


def test_the_shipped_folder_validates_with_its_cross_file_references(capsys: pytest.CaptureFixture[str]) -> None:
    """journeys/ as shipped: every journey's segments, stages, purposes and teams are defined
    (cube-nurture's entry segment active-prospects was not), and so are the config files'."""
    assert cli.main(["validate", "--format", "json", str(ROOT / "journeys")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == []
    assert "cube-nurture" in [j["id"] for j in report["journeys"]]
    names = {Path(f).name for f in report["config_files"]}
    assert {"segments.yaml", "rules.yaml", "teams.yaml", "stages.yaml", "consent.yaml"} <= names
