"""The tools teams run around their journeys (issue 19): the `nurture` console script in any
folder holding journeys/, the pre-commit hook (the real `pre-commit`, installing this repository
into its own environment: about a minute with a warm pip cache), and the example GitHub Actions
workflow, checked by actionlint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy_helpers import write_journey
from tests.git_scratch import ROOT, git

BIN = Path(sys.executable).parent
BAD = "journey: bad\nentry: {manual: true}\nsteps:\n  - {id: a, type: send_emial, template: x}\n"


def test_the_nurture_script_works_in_any_folder_with_journeys(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "journeys", tmp_path / "journeys")
    ok = subprocess.run([str(BIN / "nurture"), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 9 journeys"), ok.stderr
    (tmp_path / "journeys" / "bad.yaml").write_text(BAD)
    bad = subprocess.run([str(BIN / "nurture"), "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "journeys/bad.yaml:4:19: " in bad.stdout + bad.stderr


def test_the_pre_commit_hook_fails_a_bad_journey_with_file_line_col(tmp_path: Path) -> None:
    repo = tmp_path / "team"
    (repo / "journeys").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "journeys" / "bad.yaml").write_text(BAD)
    git(repo, "add", "-A")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PATH=f"{BIN}:{os.environ['PATH']}")

    def hook(name: str = "nurture-validate") -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "pre-commit"), "try-repo", str(ROOT), name, "--all-files"],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=900)

    failed = hook()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"nurture validate \(journeys and config files\)\.+Failed", failed.stdout)
    assert "journeys/bad.yaml:4:19: step \"a\": type \"send_emial\" is invalid (did you mean \"send_email\"?)" in failed.stdout
    write_journey(repo / "journeys", "bad")  # the same file, fixed (with its templates)
    shutil.copy(ROOT / "journeys" / "consent.yaml", repo / "journeys")  # the purpose it names
    git(repo, "add", "-A")
    passed = hook()  # the same environment, already installed
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"nurture validate \(journeys and config files\)\.+Passed", passed.stdout)

    shutil.copytree(ROOT / "journeys", repo / "journeys", dirs_exist_ok=True)  # with its scenarios
    git(repo, "add", "-A")
    scenarios = hook("nurture-test")
    assert scenarios.returncode == 0, scenarios.stdout + scenarios.stderr
    assert re.search(r"nurture test \(journey scenarios\)\.+Passed", scenarios.stdout)


def test_the_example_github_workflow_passes_actionlint(tmp_path: Path) -> None:
    workflow = ROOT / "docs" / "ci" / "nurture.yml"
    ok = subprocess.run([str(BIN / "actionlint"), str(workflow)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    text = workflow.read_text()
    for needed in ("nurture validate", "nurture test", "nurture plan --format markdown --detailed-exitcode --out plan.json",
                   "nurture apply plan.json --yes", "concurrency:"):
        assert needed in text
    broken = tmp_path / "broken.yml"  # the checker does check: an unknown job key fails
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest", 1))
    assert subprocess.run([str(BIN / "actionlint"), str(broken)], capture_output=True, text=True).returncode == 1
