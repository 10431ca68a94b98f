"""`python cli.py event` through the one event path, against a real store and Temporal server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.tracking_helpers import ROOT, counts, seed, temporal_client

_ = temporal_client


@pytest.fixture
def cli(sqlite_url, temporal_client):
    env = {**os.environ, "NURTURE_DB_URL": sqlite_url,
           "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)

    return run


@pytest.mark.parametrize("who", ["id", "email", "external"])
def test_event_command_records_the_event(sqlite_store, cli, who):
    cid = seed(sqlite_store)
    contact = {"id": str(cid), "email": "ADA@example.com", "external": "ext-ada@example.com"}[who]
    out = cli("event", contact, "trial.started", "--data", '{"plan": "team"}')
    assert out.returncode == 0, out.stderr
    [event] = sqlite_store.events_for(cid, type="trial.started")
    assert event.data == {"plan": "team"} and f"event {event.id}: trial.started for contact {cid}" in out.stdout


@pytest.mark.parametrize("args,message", [
    (("nobody@example.com", "trial.started"), "no contact"),
    (("1", "Trial Started"), "bad event type"),
    (("1", "trial.started", "--data", "[1]"), "must be a JSON object"),
    (("1", "trial.started", "--data", "{oops"), "not JSON"),
])
def test_event_command_refusals_store_nothing(sqlite_store, cli, args, message):
    seed(sqlite_store)
    before = counts(sqlite_store)
    out = cli("event", *args)
    assert out.returncode != 0 and message in out.stdout + out.stderr
    assert "Traceback" not in out.stderr and counts(sqlite_store) == before
