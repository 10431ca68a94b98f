"""plan/apply, versions, migration, draining and enrolment on the real Temporal dev server
(one DevStack for the module: dev server, SMTP sink, SMS API, tracking server, worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.apply import apply_plan
from deploy.load import load_for_deploy
from deploy.plan import build_plan
from deploy.report import format_plan, format_status
from deploy.visibility import status_counts
from engine.enrol import enrol
from engine.events import publish
from tests.deploy_helpers import eventually, new_contact, stack_config, started_stack, write_journey
from workflows.run_types import QUERY_STATE, RunResult

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
async def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    write_journey(tmp / "journeys")
    s = await started_stack(stack_config(tmp, tmp / "journeys"))
    yield s
    await s.__aexit__(None, None, None)


async def deploy(stack, path: Path, **kw):
    plan = await build_plan(stack.client, stack.store, load_for_deploy(path), whole_set=False, **kw)
    return plan, await apply_plan(stack.client, stack.store, plan, task_queue=stack.config.task_queue)


async def start(stack, journey_id: str, email: str):
    from deploy.enrolment import active_journey

    cid = new_contact(stack.store, email)
    result = await enrol(stack.client, stack.store, active_journey(stack.store, journey_id), cid,
                         task_queue=stack.config.task_queue, search_attributes=True)
    assert result.status == "started"
    return cid, stack.client.get_workflow_handle(result.workflow_id, result_type=RunResult)


async def at_step(handle, step: str) -> dict:
    async def check():
        state = await handle.query(QUERY_STATE)
        return state if state.get("step") == step and state.get("waiting") else None

    state = await eventually(check)
    assert state, f"run {handle.id} never waited at {step}"
    return state


async def subjects_to(stack, email: str) -> list[str]:
    return [m["Subject"] for m in stack.smtp.messages if m["To"] == email]


def cli(stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TEMPORAL_ADDRESS=stack.server.address,
               NURTURE_DB_URL=stack.store.url, NURTURE_TASK_QUEUE=stack.config.task_queue)
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


async def test_cli_apply_twice_says_no_changes(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-cli")
    first = cli(stack, "apply", str(path), "--yes")
    assert first.returncode == 0, first.stderr
    assert "+ deploy-cli: new" in first.stdout and "deployed deploy-cli" in first.stdout
    again = cli(stack, "apply", str(path), "--yes")
    assert (again.returncode, again.stdout.strip()) == (0, "no changes")
    plan = cli(stack, "plan", str(path))
    assert (plan.returncode, plan.stdout.strip()) == (0, "no changes")
    assert [v.version for v in stack.store.list_journey_versions("deploy-cli")] == [
        load_for_deploy(path)["deploy-cli"].version]


async def test_cli_bad_input_is_a_clear_error(stack, tmp_path):
    missing = cli(stack, "plan", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("journey: bad\nsteps: []\n")
    broken = cli(stack, "apply", str(bad), "--yes")
    assert broken.returncode == 1 and "nothing deployed" in broken.stderr and "Traceback" not in broken.stderr
    from deploy.enrolment import active_journey
    from deploy.load import DeployError

    with pytest.raises(DeployError, match="not deployed; run `python cli.py apply` first"):
        active_journey(stack.store, "no-such-journey")


async def test_old_runs_finish_on_their_version_new_runs_use_the_new_one(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-versions")
    _, report = await deploy(stack, path)
    v1 = stack.store.get_journey_state("deploy-versions").active_version
    old_cid, old = await start(stack, "deploy-versions", "old@example.com")
    await at_step(old, "pause")

    async def listed():
        found = [wf async for wf in stack.client.list_workflows('Journey="deploy-versions" AND Step="pause"')]
        return found

    runs = await eventually(listed)
    assert [r.id for r in runs] == [old.id]
    assert runs[0].search_attributes["ContactId"] == [str(old_cid)]
    assert runs[0].search_attributes["JourneyVersion"] == [v1]

    write_journey(tmp_path, "deploy-versions", follow_up_subject="Follow-up v2")
    plan = await build_plan(stack.client, stack.store, load_for_deploy(path), whole_set=False)
    text = format_plan(plan)
    assert "~ deploy-versions:" in text and "template follow-up content changed" in text
    assert plan.journeys[0].in_flight == {v1: {"pause": 1}}
    await deploy(stack, path)
    v2 = stack.store.get_journey_state("deploy-versions").active_version
    assert v2 != v1
    new_cid, new = await start(stack, "deploy-versions", "new@example.com")
    assert (await at_step(new, "pause"))["version"] == v2

    rows = await eventually(lambda: _status(stack, "deploy-versions", expect=2))
    assert "pause  1" in format_status(rows) and f"deploy-versions @ {v1}: 1 running" in format_status(rows)

    for cid in (old_cid, new_cid):
        await publish(stack.client, stack.store, cid, "test.go")
    assert (await old.result()).outcome == "completed"
    assert (await new.result()).outcome == "completed"
    assert (await subjects_to(stack, "old@example.com"))[-1] == "Follow-up v1"
    assert (await subjects_to(stack, "new@example.com"))[-1] == "Follow-up v2"


async def _status(stack, journey_id: str, expect: int):
    from deploy.plan import deployed

    versions = [deployed(stack.store, journey_id, v.version) for v in stack.store.list_journey_versions(journey_id)]
    rows = await status_counts(stack.client, versions)
    return rows if sum(r.running for r in rows) == expect else None


async def test_migrate_moves_a_waiting_run_and_it_completes_on_the_new_version(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-migrate")
    await deploy(stack, path)
    cid, run = await start(stack, "deploy-migrate", "mover@example.com")
    await at_step(run, "pause")
    await eventually(lambda: _status(stack, "deploy-migrate", expect=1))
    write_journey(tmp_path, "deploy-migrate", follow_up_subject="Follow-up migrated")
    plan, report = await deploy(stack, path, migrate=True)
    new_version = stack.store.get_journey_state("deploy-migrate").active_version
    assert [m.workflow_id for m in plan.migrations] == [run.id] and not report.refused
    assert any(a.startswith(f"migrating {run.id} at pause") for a in report.actions)

    async def moved():
        state = await run.query(QUERY_STATE)
        return state.get("version") == new_version and state.get("step") == "pause" and state.get("waiting")

    assert await eventually(moved)
    # visibility follows the move: the run is counted on the new version
    rows = await eventually(lambda: _status(stack, "deploy-migrate", expect=1))
    assert [(r.version, r.step) for r in rows] == [(new_version, "pause")]
    await publish(stack.client, stack.store, cid, "test.go")
    assert (await run.result()).outcome == "completed"
    assert (await subjects_to(stack, "mover@example.com")) == ["Hello from the deploy test", "Follow-up migrated"]


async def test_migration_is_refused_where_the_step_is_gone(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-refuse")
    await deploy(stack, path)
    old_version = stack.store.get_journey_state("deploy-refuse").active_version
    _, run = await start(stack, "deploy-refuse", "stayer@example.com")
    await at_step(run, "pause")
    await eventually(lambda: _status(stack, "deploy-refuse", expect=1))
    write_journey(tmp_path, "deploy-refuse", pause=False)
    plan, report = await deploy(stack, path, migrate=True)
    assert [(m.workflow_id, m.refusal) for m in report.refused] == [
        (run.id, f"step 'pause' is gone in version {plan.journeys[0].new.version}")]
    assert "REFUSED: step 'pause' is gone" in format_plan(plan)
    state = await run.query(QUERY_STATE)
    assert state["version"] == old_version and state["step"] == "pause"
    await run.terminate("test done")


async def test_drain_refuses_new_entries(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-drain")
    await deploy(stack, path)
    _, report = await deploy(stack, path, drain=["deploy-drain"])
    assert report.actions == ["deploy-drain: active -> draining"]
    from deploy.enrolment import active_journey

    cid = new_contact(stack.store, "late@example.com")
    result = await enrol(stack.client, stack.store, active_journey(stack.store, "deploy-drain"), cid,
                         task_queue=stack.config.task_queue, search_attributes=True)
    assert (result.status, result.reason) == ("refused", "journey_draining")
    from deploy.enrolment import enrol_many

    bulk = await enrol_many(stack.client, stack.store, active_journey(stack.store, "deploy-drain"),
                            [cid, new_contact(stack.store, "later@example.com")], task_queue=stack.config.task_queue)
    assert (bulk.started, dict(bulk.refused)) == (0, {"journey_draining": 2})
    assert stack.store.last_enrolment("deploy-drain", cid) is None
    _, again = await deploy(stack, path, drain=["deploy-drain"])
    assert again.actions == []


async def test_end_to_end_click_moves_the_run_and_one_click_unsubscribe_skips_the_next_send(stack, tmp_path):
    import asyncio

    import httpx

    from tests.deploy_helpers import links

    path = write_journey(tmp_path, "deploy-e2e", clicked_branch=True)
    await deploy(stack, path)
    cid, run = await start(stack, "deploy-e2e", "clicker@example.com")
    state = await at_step(run, "pause")
    mail = next(m for m in stack.smtp.messages if m["To"] == "clicker@example.com")
    html = mail.get_body(("html",)).get_content()
    click = next(u for u in links(html, "c"))
    await asyncio.sleep(2.1)  # a person, not a link scanner (clicks within 2 s of the send count as bots)
    async with httpx.AsyncClient(timeout=10) as http:
        redirect = await http.get(click, follow_redirects=False)
        assert redirect.status_code == 302 and redirect.headers["location"] == "https://example.com/hello"
        await at_step(run, "clicked")
        unsubscribe = mail["List-Unsubscribe"].strip("<>").split(">")[0]
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        done = await http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
        assert done.status_code == 200
    assert stack.store.consent_state(cid, "email", "marketing").status == "withdrawn"
    await publish(stack.client, stack.store, cid, "test.go")
    result = await run.result()
    assert result.outcome == "completed"
    assert [t["outcome"] for t in result.trail if t["step"] == "after-click"] == ["skipped"]
    assert await subjects_to(stack, "clicker@example.com") == ["Hello from the deploy test"]
    assert state["version"] == stack.store.get_journey_state("deploy-e2e").active_version


async def test_segment_entry_gets_a_schedule_whose_sweep_enrols_the_members(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-sweep", entry="{segment: trial-users}")
    _, report = await deploy(stack, path)
    assert any(a.startswith("schedule segment-sweep/deploy-sweep created") for a in report.actions)
    cid = new_contact(stack.store, "trialist@example.com")
    stack.store.set_attributes(cid, {"plan": "trial"})
    await stack.client.get_schedule_handle("segment-sweep/deploy-sweep").trigger()

    async def enrolled():
        return [wf async for wf in stack.client.list_workflows('Journey="deploy-sweep"')]

    runs = await eventually(enrolled)
    assert [r.search_attributes["ContactId"] for r in runs] == [[str(cid)]]
    _, again = await deploy(stack, path, drain=["deploy-sweep"])
    assert "schedule segment-sweep/deploy-sweep deleted" in again.actions


async def test_cli_enroll_from_csv_reports_started_and_unknown(stack, tmp_path):
    path = write_journey(tmp_path, "deploy-csv")
    await deploy(stack, path)
    for name in ("csv1", "csv2"):
        new_contact(stack.store, f"{name}@example.com")
    csv = tmp_path / "people.csv"
    csv.write_text("email\ncsv1@example.com\ncsv2@example.com\nnobody@example.com\n")
    out = cli(stack, "enroll", "deploy-csv", "--csv", str(csv))
    assert out.returncode == 0, out.stderr
    assert "started: 2" in out.stdout and "unknown contacts: 1 (nobody@example.com)" in out.stdout
    from deploy.enrolment import active_journey, enrol_many, read_csv

    ids, _ = read_csv(stack.store, csv)
    again = await enrol_many(stack.client, stack.store, active_journey(stack.store, "deploy-csv"), ids,
                             task_queue=stack.config.task_queue)
    assert (again.started, dict(again.refused)) == (0, {"reentry_never": 2})
    assert all(stack.store.last_enrolment("deploy-csv", cid) is not None for cid in ids)  # recorded by the CLI
    async def listed():  # visibility is eventually consistent: both runs show up a little later
        runs = [wf async for wf in stack.client.list_workflows('Journey="deploy-csv"')]
        return runs if len(runs) == 2 else None

    runs = await eventually(listed)
    assert runs and len(runs) == 2  # started on the worker's task queue (NURTURE_TASK_QUEUE)
    for wf in runs:
        await at_step(stack.client.get_workflow_handle(wf.id), "pause")



async def test_bulk_enrolment_reads_and_records_in_batches(stack, tmp_path, monkeypatch):
    from deploy.enrolment import active_journey, enrol_many

    monkeypatch.setattr("deploy.enrolment.BATCH", 2)  # 5 contacts: three read batches, three writes
    path = write_journey(tmp_path, "deploy-bulk")
    await deploy(stack, path)
    ids = [new_contact(stack.store, f"bulk{i}@example.com") for i in range(5)]
    done = []
    summary = await enrol_many(stack.client, stack.store, active_journey(stack.store, "deploy-bulk"), ids,
                               concurrency=3, task_queue=stack.config.task_queue, on_done=lambda: done.append(1))
    assert (summary.started, summary.already_running, dict(summary.refused), len(done)) == (5, 0, {}, 5)
    for cid in ids:
        row = stack.store.last_enrolment("deploy-bulk", cid)
        handle = stack.client.get_workflow_handle(row.workflow_id)
        assert (await handle.describe()).run_id == row.run_id  # the row names the run that was started
    again = await enrol_many(stack.client, stack.store, active_journey(stack.store, "deploy-bulk"), ids,
                             task_queue=stack.config.task_queue)
    assert (again.started, dict(again.refused)) == (0, {"reentry_never": 5})
