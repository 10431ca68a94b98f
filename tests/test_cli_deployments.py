"""plan/apply/deployments from a scratch git repository (issue 19), on a real Temporal dev
server (one per module) with a SQLite store per test: exit codes, formats, provenance, dirty
trees, saved plans, stale bases, the deploy lock and the run memo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devstack.ports import free_port
from devstack.temporal_server import TemporalDevServer
from tests.deploy_helpers import write_journey
from tests.git_scratch import Cli, commit, git, scratch_repo


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    with TemporalDevServer(port=free_port()) as s:
        yield s


@pytest.fixture
def cli(server, tmp_path: Path) -> Cli:  # type: ignore[no-untyped-def]
    return Cli(server.address, f"sqlite:///{tmp_path / 'nurture.db'}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scratch_repo(tmp_path)


def deployments(cli: Cli, repo: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    out = cli(repo, "deployments", *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_detailed_exitcode_formats_and_provenance(cli: Cli, repo: Path) -> None:
    plan = cli(repo, "plan", "--detailed-exitcode", "--format", "json")
    assert plan.returncode == 2, plan.stderr
    data = json.loads(plan.stdout)
    assert data["format"] == "nurture-plan/1" and data["changes"] is True and data["base"] is None
    assert [(j["id"], j["action"]) for j in data["journeys"]] == [("git-demo", "new")]
    assert data["source"]["commit"] == git(repo, "rev-parse", "HEAD") and data["source"]["branch"] == "main"
    md = cli(repo, "plan", "--format", "markdown").stdout
    assert md.startswith("## Nurture plan") and "### + journey `git-demo` (new" in md and "+ hello (send_email)" in md

    applied = cli(repo, "apply", "--yes", env={"GITHUB_ACTOR": "octocat"})
    assert applied.returncode == 0, applied.stderr
    assert "deployment #1 recorded" in applied.stdout
    assert cli(repo, "plan", "--detailed-exitcode").returncode == 0

    (repo / "journeys" / "git-demo.yaml").write_text("journey: git-demo\nsteps: [\n")
    broken = cli(repo, "plan", "--detailed-exitcode")
    assert broken.returncode == 1 and "git-demo.yaml:" in broken.stderr and "Traceback" not in broken.stderr

    [d] = deployments(cli, repo)
    assert (d["commit"], d["dirty"], d["branch"], d["actor"]) == (git(repo, "rev-parse", "HEAD"), False, "main", "octocat")
    assert d["changes"] == [f"+ git-demo {d['journeys']['git-demo']}"]
    text = cli(repo, "deployments", "git-demo").stdout
    assert text.startswith(f"#1  {d['commit'][:12]} on main  octocat  ")


def test_a_dirty_tree_is_refused_unless_allowed_and_recorded_dirty(cli: Cli, repo: Path) -> None:
    write_journey(repo / "journeys", "git-demo", follow_up_subject="Uncommitted")
    refused = cli(repo, "apply", "--yes")
    assert refused.returncode == 1 and "uncommitted changes" in refused.stderr and "--allow-dirty" in refused.stderr
    assert deployments(cli, repo) == []
    ok = cli(repo, "apply", "--yes", "--allow-dirty", "--actor", "ana")
    assert ok.returncode == 0, ok.stderr
    [d] = deployments(cli, repo)
    assert d["dirty"] is True and d["actor"] == "ana"


def test_a_folder_outside_git_records_no_commit(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    write_journey(folder / "journeys", "plain-demo")
    assert cli(folder, "apply", "--yes", env={"NURTURE_ACTOR": "ci-bot"}).returncode == 0
    [d] = deployments(cli, folder)
    assert (d["commit"], d["actor"]) == (None, "ci-bot")
    assert "no commit" in cli(folder, "deployments").stdout


def test_a_saved_plan_applies_exactly_and_is_refused_once_the_live_deployment_moved(cli: Cli, repo: Path) -> None:
    saved = cli(repo, "plan", "--out", "first.json")
    assert saved.returncode == 0 and "apply first.json" in saved.stderr
    write_journey(repo / "journeys", "git-demo", follow_up_subject="Changed after the plan")
    commit(repo, "edit after planning")
    applied = cli(repo, "apply", "first.json", "--yes")
    assert applied.returncode == 0, applied.stderr
    [d] = deployments(cli, repo)
    first_version = json.loads((repo / "first.json").read_text())["journeys"][0]["new_version"]
    assert d["journeys"] == {"git-demo": first_version}  # what was reviewed, not the later edit

    again = cli(repo, "plan", "--out", "second.json")
    assert again.returncode == 0
    assert cli(repo, "apply", "--yes").returncode == 0  # the live deployment moves
    refused = cli(repo, "apply", "second.json", "--yes")
    assert refused.returncode == 1
    assert "the live deployment moved since this plan was made (planned against #1" in refused.stderr
    assert "live now #2" in refused.stderr and "nothing applied" in refused.stderr
    assert len(deployments(cli, repo)) == 2


def test_a_stale_branch_is_refused_naming_the_live_commit_unless_forced(cli: Cli, repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature-a")
    write_journey(repo / "journeys", "git-demo", follow_up_subject="From A")
    a = commit(repo, "A")
    assert cli(repo, "apply", "--yes").returncode == 0
    git(repo, "checkout", "-q", base, "-b", "feature-b")
    write_journey(repo / "journeys", "git-demo", follow_up_subject="From B")
    commit(repo, "B")
    stale = cli(repo, "apply", "--yes")
    assert stale.returncode == 1
    assert f"stale base: the live deployment is commit {a[:12]}" in stale.stderr and "--force" in stale.stderr
    assert cli(repo, "apply", "--yes", "--force").returncode == 0
    assert len(deployments(cli, repo)) == 2


def test_two_concurrent_applies_from_one_base_land_once(cli: Cli, repo: Path, tmp_path: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        git(clone, "checkout", "-q", "-b", name, base)
        write_journey(clone / "journeys", "git-demo", follow_up_subject=f"From {name}")
        git(clone, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qam", name)
        git(clone, "fetch", "-q", str(repo), "+refs/heads/*:refs/remotes/origin/*")
        clones.append(clone)
    for name, clone in zip(("one", "two"), clones):  # each knows the other's commit, as after a fetch
        other = clones[1] if clone is clones[0] else clones[0]
        git(clone, "fetch", "-q", str(other), f"+refs/heads/*:refs/remotes/{'b' if name == 'one' else 'a'}/*")
    runs = [cli.run(c, "apply", "--yes", background=True) for c in clones]
    results = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in runs]  # type: ignore[union-attr]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "stale base: the live deployment is commit" in loser and "is not in this branch's history" in loser
    [d] = deployments(cli, repo)
    assert d["parent_id"] == 0


def test_an_apply_waits_for_the_lock_then_names_its_holder(cli: Cli, repo: Path) -> None:
    from store import Store

    store = Store.open(cli.env["NURTURE_DB_URL"])
    try:
        with store.deploy_lock("release-bot (apply 1234)"):
            blocked = cli(repo, "apply", "--yes", "--lock-timeout", "1")
        assert blocked.returncode == 1
        assert "the deploy lock is held by release-bot (apply 1234) since" in blocked.stderr
        assert "waited 1 s (--lock-timeout)" in blocked.stderr
        assert store.live_deployment() is None
    finally:
        store.close()


async def test_each_run_carries_its_deployment_commit_in_its_memo(server, cli: Cli, repo: Path) -> None:  # type: ignore[no-untyped-def]
    from deploy.enrolment import active_journey
    from engine.enrol import enrol
    from store import Store

    assert cli(repo, "apply", "--yes").returncode == 0
    store = Store.open(cli.env["NURTURE_DB_URL"])
    client = await server.connect()
    try:
        cid = store.create_contact(email="memo@example.com")
        result = await enrol(client, store, active_journey(store, "git-demo"), int(cid),
                             task_queue=cli.env["NURTURE_TASK_QUEUE"])
        handle = client.get_workflow_handle(result.workflow_id)
        memo = await (await handle.describe()).memo()
        assert memo == {"Deployment": 1, "Commit": git(repo, "rev-parse", "HEAD")[:12]}
        await handle.terminate("test done")
    finally:
        store.close()


def test_a_reviewed_plan_applied_after_a_squash_merge_records_the_main_commit(cli: Cli, repo: Path) -> None:
    """CI plans the pull request's head, squash-merges, applies on main: the deployment names
    main's commit (it holds exactly the planned files), so the next branch from main is not stale."""
    git(repo, "checkout", "-q", "-b", "feature")
    write_journey(repo / "journeys", "git-demo", follow_up_subject="Squashed")
    head = commit(repo, "feature")
    assert cli(repo, "plan", "--out", "../reviewed.json").returncode == 0
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--squash", "feature")
    squashed = commit(repo, "squash-merge feature")
    assert cli(repo, "apply", "../reviewed.json", "--yes").returncode == 0
    [d] = deployments(cli, repo)
    assert d["commit"] == squashed != head
    git(repo, "checkout", "-q", "-b", "next")
    write_journey(repo / "journeys", "git-demo", follow_up_subject="Next")
    commit(repo, "next")
    assert cli(repo, "apply", "--yes").returncode == 0, "a branch from main is not stale"
