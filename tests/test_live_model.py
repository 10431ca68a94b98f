"""The config files are part of the deployment (issue 19): in a scratch git repository, a change
to each config file shows in `plan`; after `apply`, a tracking server and a worker started from
an older checkout (its folder still holds the old files) run the applied model within 5 s, with
no restart. Real Temporal dev server, worker and tracking server processes, SMTP sink, SQLite."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devstack.ports import free_port, wait_until_answers
from devstack.smtp_sink import SmtpSink
from devstack.temporal_server import TemporalDevServer
from tests.deploy_helpers import write_template
from tests.git_scratch import ROOT, Cli, commit, git

TOKEN = "live-model-token"
JOURNEY = """journey: temp-check
title: Temperature check
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - id: hot-or-not
    type: branch
    cases:
      - {when: 'temperature == "hot"', next: hot}
    default: cold
  - {id: hot, type: send_email, template: hot, next: end}
  - {id: cold, type: send_email, template: cold}
"""
SCORING_V1 = "temperature:\n  default: {warm: 30, hot: 70}\nrules:\n  - {id: visit, event: page.visited, points: 1}\n"
SCORING_V2 = "temperature:\n  default: {warm: 20, hot: 40}\nrules:\n  - {id: visit, event: page.visited, points: 7}\n"
STAGES_V2 = ("stages:\n  - {id: subscriber, funnel: TOFU}\n  - {id: lead, funnel: TOFU}\n"
             "rules:\n  - {id: visited, event: page.visited, to: lead}\n")
RULES_V2 = "rules:\n  - id: tag-visitors\n    when: {event: page.visited}\n    then:\n      - tag: {add: [visitor]}\n"


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    with TemporalDevServer(port=free_port()) as s:
        yield s


def scratch(tmp: Path) -> Path:
    repo = tmp / "repo"
    folder = repo / "journeys"
    folder.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Git User")
    git(repo, "config", "user.email", "git.user@example.com")
    (folder / "temp-check.yaml").write_text(JOURNEY)
    write_template(folder, "hot", "Hot", "You are hot")
    write_template(folder, "cold", "Cold", "You are cold")
    (folder / "scoring.yaml").write_text(SCORING_V1)
    shutil.copy(ROOT / "journeys" / "consent.yaml", folder / "consent.yaml")
    commit(repo, "v1")
    return repo


def start(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def post_event(port: int, contact_id: int) -> None:
    body = json.dumps({"contact": {"id": contact_id}, "type": "page.visited", "data": {"url": "/pricing"}}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/events", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


async def test_a_change_to_each_config_file_shows_in_plan(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The shipped folder, deployed, then one edit to each config file: plan lists each, in its terms."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "journeys", repo / "journeys", ignore=shutil.ignore_patterns("tests"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Git User")
    git(repo, "config", "user.email", "git.user@example.com")
    commit(repo, "shipped")
    cli = Cli(server.address, f"sqlite:///{tmp_path / 'nurture.db'}")
    assert cli(repo, "apply", "--yes").returncode == 0
    j = repo / "journeys"
    edits = {
        "scoring.yaml": ("cap: {points: 5, per: 7d}", "cap: {points: 50, per: 7d}"),
        "stages.yaml": ("    score: {at_least: 10}\n", "    score: {at_least: 15}\n"),
        "segments.yaml": ("- {event: email.sent, before: 90d}", "- {event: email.sent, before: 60d}"),
        "rules.yaml": ("rules:\n", "rules:\n  - id: pricing-visit-tag\n    when: {event: page.visited}\n"
                                   "    then:\n      - tag: {add: [pricing]}\n"),
        "sending.yaml": ('"08:00"', '"09:00"'),
    }
    for name, (old, new) in edits.items():
        text = (j / name).read_text()
        assert old in text, name
        (j / name).write_text(text.replace(old, new, 1))
    consent = (j / "consent.yaml").read_text()
    (j / "consent.yaml").write_text(consent.replace("organisation: Nurture", "organisation: Changed Org", 1))
    (j / "teams.yaml").write_text((j / "teams.yaml").read_text() + "  - {id: support, title: Support}\n")
    commit(repo, "edit every config file")
    plan = cli(repo, "plan", "--format", "json", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    config = {c["name"]: c for c in json.loads(plan.stdout)["config"]}
    assert set(edits) | {"consent.yaml", "teams.yaml"} <= set(config)
    assert config["scoring.yaml"]["details"] == ["~ rule email-open: cap.points: 5 -> 50"]
    assert config["stages.yaml"]["details"] == ["~ rule engaged: score.at_least: 10 -> 15"]
    assert config["consent.yaml"]["details"] == ["organisation: Nurture -> Changed Org"]
    assert config["teams.yaml"]["details"] == ["+ team support"]
    assert any(d.startswith("~ segment asleep-90d: ") and "90d -> 60d" in d and "would enter" in d
               for d in config["segments.yaml"]["details"])
    assert "+ rule pricing-visit-tag" in config["rules.yaml"]["details"]
    assert config["sending.yaml"]["details"] == ['~ channel sms: from: "08:00" -> "09:00"']
    text = cli(repo, "plan").stdout
    assert "~ scoring.yaml: changed\n    ~ rule email-open: cap.points: 5 -> 50" in text
    (j / "templates" / "welcome-1.txt").write_text((j / "templates" / "welcome-1.txt").read_text() + "PS: hello\n")
    commit(repo, "template")
    md = cli(repo, "plan", "--format", "markdown").stdout
    assert "### ~ `templates/welcome-1.txt` (changed)" in md and "+PS: hello" in md


async def test_a_running_worker_and_tracking_server_from_an_older_checkout_run_the_applied_model(
        server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from deploy.enrolment import active_journey
    from engine.enrol import enrol
    from marketing.model import detach
    from store import Store

    repo = scratch(tmp_path)
    old = tmp_path / "old"
    subprocess.run(["git", "clone", "-q", str(repo), str(old)], check=True)  # the older checkout
    db_url = f"sqlite:///{tmp_path / 'nurture.db'}"
    cli = Cli(server.address, db_url)
    assert cli(repo, "apply", "--yes").returncode == 0
    sink = SmtpSink(port=free_port()).start()
    http = free_port()
    env = dict(cli.env, NURTURE_SMTP_HOST="127.0.0.1", NURTURE_SMTP_PORT=str(sink.port), NURTURE_API_TOKENS=TOKEN,
               NURTURE_TRACKING_URL=f"http://127.0.0.1:{http}", NURTURE_JOURNEYS_DIR=str(old / "journeys"),
               NURTURE_MODEL_CACHE=str(tmp_path / "model-cache"), PYTHONPATH=str(ROOT))
    worker = start([sys.executable, str(ROOT / "worker.py")], old, env, tmp_path / "worker.log")
    tracking = start([sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(http)], old, env,
                     tmp_path / "tracking.log")
    store = Store.open(db_url)
    client = await server.connect()
    try:
        assert wait_until_answers(http, 30), (tmp_path / "tracking.log").read_text()
        visitor = int(store.create_contact(email="visitor@example.com"))
        warm = [int(store.create_contact(email=f"warm{i}@example.com")) for i in range(2)]
        for cid in warm:
            store.set_score(cid, 50, reason="test")
            store.record_consent(cid, "email", "marketing", "granted", source="test")
        queue = cli.env["NURTURE_TASK_QUEUE"]

        async def subject_to(email: str) -> str:
            for _ in range(300):
                found = [m["Subject"] for m in sink.messages if m["To"] == email]
                if found:
                    return found[0]
                await asyncio.sleep(0.1)
            raise AssertionError(f"no email to {email}; worker log: {(tmp_path / 'worker.log').read_text()[-2000:]}")

        # before: score 50 is warm (hot from 70), a visit earns 1 point, no stage, no tag
        await enrol(client, store, active_journey(store, "temp-check"), warm[0], task_queue=queue)
        assert await subject_to("warm0@example.com") == "Cold"
        post_event(http, visitor)
        assert store.get_scores(visitor)["global"] == 1

        j = repo / "journeys"
        (j / "scoring.yaml").write_text(SCORING_V2)
        (j / "stages.yaml").write_text(STAGES_V2)
        (j / "rules.yaml").write_text(RULES_V2)
        commit(repo, "v2: hot from 40, visits 7 points, a stage and a tag")
        planned = cli(repo, "plan").stdout
        assert "~ rule visit: points: 1 -> 7" in planned and "+ stages.yaml: new" in planned
        assert cli(repo, "apply", "--yes").returncode == 0
        applied_at = time.monotonic()

        while True:  # the tracking server: the next visits score 7, move the stage, tag
            before = store.get_scores(visitor)["global"]
            post_event(http, visitor)
            if store.get_scores(visitor)["global"] - before == 7:
                break
            assert time.monotonic() - applied_at < 5, "the tracking server still scores with the old model"
            await asyncio.sleep(0.2)
        contact = store.get_contact(visitor)
        assert contact is not None and contact.stage == "lead" and "visitor" in contact.tags
        assert time.monotonic() - applied_at < 5

        await asyncio.sleep(max(0.0, applied_at + 4.5 - time.monotonic()))  # the worker re-checks within 2 s
        await enrol(client, store, active_journey(store, "temp-check"), warm[1], task_queue=queue)
        assert await subject_to("warm1@example.com") == "Hot"  # 50 is hot from 40: the applied thresholds
        assert worker.poll() is None and tracking.poll() is None  # never restarted

        with store._read() as conn:  # noqa: SLF001 - the audit column
            from sqlalchemy import text

            named = conn.execute(text("SELECT delta, deployment_id FROM score_history WHERE contact_id = :c "
                                      "ORDER BY id"), {"c": visitor}).all()
        assert named[0] == (1, 1) and named[-1] == (7, 2)
    finally:
        for proc in (worker, tracking):
            proc.terminate()
            proc.wait(15)
        sink.stop()
        store.close()
        detach()
