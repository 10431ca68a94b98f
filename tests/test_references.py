"""Cross-file references checked at validate time (and so by plan / apply): segments, stages,
consent purposes, teams and score levels, at the referencing value, with a did-you-mean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from compiler.compile import compile_file
from compiler.config_files import config_validator
from deploy.load import DeployError, load_for_deploy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def journeys(tmp_path: Path) -> Path:
    """A copy of the shipped journeys/ (without its scenarios) to break."""
    folder = tmp_path / "journeys"
    shutil.copytree(ROOT / "journeys", folder, ignore=shutil.ignore_patterns("tests"))
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_every_kind_of_reference_is_checked_where_it_is_written(journeys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(journeys / "cube-nurture.yaml", "segment: active-prospects", "segment: active-prospect")
    edit(journeys / "sales-handoff.yaml", "stage: sql", "stage: sqll")
    edit(journeys / "trial-to-paid.yaml", "    to: sales\n", "    to: salse\n")
    edit(journeys / "welcome-series.yaml", "consent: {email: marketing}", "consent: {email: third-party}")
    edit(journeys / "webinar.yaml", "purpose: transactional", "purpose: transactionl")
    edit(journeys / "rules.yaml", "- stage: customer", "- stage: custmer")
    edit(journeys / "rules.yaml", "to: sales,", "to: sale,")
    edit(journeys / "segments.yaml", "- {stage: customer}", "- {stage: customr}")
    edit(journeys / "segments.yaml", "- score: {gte: 80}", "- {score: {gte: 80}, level: 'stage:mq'}")
    edit(journeys / "segments.yaml", "{segment: engaged-leads}", "{segment: engaged-lead}")
    assert cli.main(["validate", str(journeys)]) == 1
    j = str(journeys)
    assert capsys.readouterr().out.splitlines() == [
        f'{j}/cube-nurture.yaml:12:12: unknown segment "active-prospect" (did you mean "active-prospects"?); '
        f"{j}/segments.yaml defines: active-prospects, asleep-90d, engaged-leads, hot-leads, pricing-interest, "
        "product-updates-audience, trial-users",
        f'{j}/sales-handoff.yaml:31:12: unknown stage "sqll" (did you mean "sql"?); '
        f"{j}/stages.yaml defines: churned, customer, lead, mql, opportunity, sql, subscriber",
        f'{j}/trial-to-paid.yaml:52:9: unknown team "salse" (did you mean "sales"?); {j}/teams.yaml defines: sales',
        f'{j}/webinar.yaml:28:14: unknown consent purpose "transactionl" (did you mean "transactional"?); '
        f"{j}/consent.yaml defines: marketing, newsletter, product-updates, profiling, third-party, transactional",
        f'{j}/welcome-series.yaml:11:20: consent purpose "third-party" does not cover email '
        f"(its channels in {j}/consent.yaml: webhook)",
        f'{j}/rules.yaml:18:22: unknown team "sale" (did you mean "sales"?); {j}/teams.yaml defines: sales',
        f'{j}/rules.yaml:35:16: unknown stage "custmer" (did you mean "customer"?); '
        f"{j}/stages.yaml defines: churned, customer, lead, mql, opportunity, sql, subscriber",
        f'{j}/segments.yaml:55:37: unknown score level "stage:mq" (did you mean "stage:mql"?); '
        f"{j}/scoring.yaml defines: global, stage:churned, stage:customer, stage:lead, stage:mql, stage:opportunity, "
        "stage:sql, stage:subscriber, tag:webinar",
        f'{j}/segments.yaml:64:23: unknown stage "customr" (did you mean "customer"?); '
        f"{j}/stages.yaml defines: churned, customer, lead, mql, opportunity, sql, subscriber",
        f'{j}/segments.yaml:65:25: segment "product-updates-audience" uses unknown segment "engaged-lead" '
        '(did you mean "engaged-leads"?)',
    ]


def test_plan_and_apply_refuse_what_validate_refuses(journeys: Path) -> None:
    edit(journeys / "cube-nurture.yaml", "segment: active-prospects", "segment: active-prospect")
    edit(journeys / "rules.yaml", "to: sales,", "to: sale,")
    with pytest.raises(DeployError) as refused:
        load_for_deploy(journeys)
    lines = str(refused.value).splitlines()
    assert lines[0] == "2 error(s); nothing deployed:"
    assert lines[1].startswith(f'{journeys}/cube-nurture.yaml:12:12: unknown segment "active-prospect"')
    assert lines[2].startswith(f'{journeys}/rules.yaml:18:22: unknown team "sale"')
    for command in (["plan"], ["apply", "--yes"]):  # refused before any connection: no server needed
        done = subprocess.run([sys.executable, "cli.py", *command, str(journeys)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert 'unknown segment "active-prospect"' in done.stdout + done.stderr


def test_a_broken_definitions_file_makes_its_references_uncheckable(journeys: Path) -> None:
    (journeys / "teams.yaml").write_text("teams:\n  - id: Sales\n")
    errors = [str(d) for d in compile_file(journeys / "trial-to-paid.yaml").errors]
    assert errors == [f'{journeys}/trial-to-paid.yaml:52:9: cannot check team "sales": {journeys}/teams.yaml '
                      f"has errors (python cli.py validate {journeys}/teams.yaml)"]


def test_teams_are_declared_and_addresses_need_no_declaration(journeys: Path) -> None:
    edit(journeys / "sales-handoff.yaml", "to: sales-leads@example.com", "to: ops@example.com")
    assert compile_file(journeys / "sales-handoff.yaml").errors == []
    (journeys / "teams.yaml").write_text("teams:\n  - id: sales\n  - id: sales\n")
    assert [str(d) for d in config_validator("teams.yaml")(journeys / "teams.yaml")] == [
        f'{journeys}/teams.yaml:3:9: team "sales" is declared twice (first at line 2)']
    (journeys / "teams.yaml").write_text("teams:\n  - id: sales-ops\n")
    assert "teams[0].id" in str(config_validator("teams.yaml")(journeys / "teams.yaml")[0])  # no - in env names


def test_a_folder_without_the_file_uses_the_runtime_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lone journey is checked against what the worker will read: $NURTURE_SEGMENTS, else
    $NURTURE_JOURNEYS_DIR (default: the shipped journeys/)."""
    (tmp_path / "templates").symlink_to(ROOT / "journeys" / "templates")
    text = (ROOT / "journeys" / "re-engagement.yaml").read_text()
    path = tmp_path / "re-engagement.yaml"
    path.write_text(text)
    assert compile_file(path).errors == []  # asleep-90d in the shipped segments.yaml
    other = tmp_path / "elsewhere.yaml"
    other.write_text("segments:\n  - {id: asleep-30d, where: {tag: x}}\n")
    monkeypatch.setenv("NURTURE_SEGMENTS", str(other))
    assert [d.message for d in compile_file(path).errors] == [
        f'unknown segment "asleep-90d" (did you mean "asleep-30d"?); {other} defines: asleep-30d']
    monkeypatch.delenv("NURTURE_SEGMENTS")
    monkeypatch.setenv("NURTURE_JOURNEYS_DIR", str(tmp_path / "empty"))
    assert [d.message for d in compile_file(path).errors][0] == (
        f'unknown segment "asleep-90d": there is no segments.yaml to define it (looked for {tmp_path}/empty/segments.yaml)')


def test_stages_compared_in_conditions_are_checked_at_the_string(journeys: Path) -> None:
    edit(journeys / "trial-to-paid.yaml", """goal: 'stage == "customer"'""", """goal: 'stage in ["lead", "custmer"]'""")
    edit(journeys / "rules.yaml", """if: 'stage not in ["customer",""", """if: '"costumer" != stage and stage not in ["customer",""")
    assert [(d.line, d.col, d.message.split(";")[0]) for d in compile_file(journeys / "trial-to-paid.yaml").errors] == [
        (5, 26, 'unknown stage "custmer" (did you mean "customer"?)')]
    assert [(d.line, d.col, d.message.split(";")[0]) for d in config_validator("rules.yaml")(journeys / "rules.yaml")] == [
        (16, 10, 'unknown stage "costumer" (did you mean "customer"?)')]


def test_the_profiling_purpose_is_checked_but_covers_no_channel(journeys: Path) -> None:
    edit(journeys / "cube-nurture.yaml", "consent: {email: marketing}", "consent: {email: marketing, profiling: profilng}")
    assert [d.message.split(";")[0] for d in compile_file(journeys / "cube-nurture.yaml").errors] == [
        'unknown consent purpose "profilng" (did you mean "profiling"?)']
    edit(journeys / "cube-nurture.yaml", "profiling: profilng", "profiling: profiling")
    assert compile_file(journeys / "cube-nurture.yaml").errors == []
