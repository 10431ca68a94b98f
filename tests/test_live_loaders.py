"""Every runtime loader follows the live deployment (issue 19, marketing/model.py): scoring and
stages models, rules, segments, send windows, the consent model and the temperature thresholds
come from the folder on disk until something is deployed, then from the live deployment's files,
switching within POLL_S of a new one, in the same process."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from store import Store
from store.deployments import NewDeployment

ROOT = Path(__file__).resolve().parent.parent
FILES = ("scoring.yaml", "stages.yaml", "segments.yaml", "rules.yaml", "consent.yaml", "sending.yaml", "teams.yaml")


@pytest.fixture
def live(sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import marketing.model as model

    disk = tmp_path / "disk"
    shutil.copytree(ROOT / "journeys", disk)
    monkeypatch.setenv("NURTURE_JOURNEYS_DIR", str(disk))
    monkeypatch.delenv("NURTURE_SEGMENTS", raising=False)
    monkeypatch.delenv("NURTURE_SENDING_FILE", raising=False)
    monkeypatch.setenv("NURTURE_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(model, "POLL_S", 0.2)
    model.attach(sqlite_store)
    yield sqlite_store
    model.detach()


def deploy(store: Store, edits: dict[str, tuple[str, str]]) -> int:
    from deploy.load import folder_contents

    files = folder_contents(ROOT / "journeys") or {}  # what apply ships: journeys, config files, templates
    for name in FILES:
        text = files[name]
        if name in edits:
            old, new = edits[name]
            assert old in text, name
            text = text.replace(old, new, 1)
        files[name] = text
    live = store.live_deployment_id()
    return store.record_deployment(NewDeployment("c" * 40, False, "main", "test", [], {}, files), base_id=live)


def test_each_loader_reads_disk_first_then_the_live_deployment(live: Store) -> None:
    from compiler.sending_model import default_sending_rules
    from marketing.hooks import load_models, temperature_thresholds
    from marketing.model import LiveConsentModel, folder_for
    from marketing.rules import load_rules
    from marketing.segments import default_segments

    thresholds = temperature_thresholds(store=live)
    consent = LiveConsentModel(live)
    assert folder_for(live).name == "disk"  # nothing deployed: the folder on disk
    assert tuple(thresholds) == (30, 70)
    before = {"sms": default_sending_rules().channels["sms"].from_min, "org": consent.organisation,
              "segments": set(default_segments())}
    deploy(live, {
        "scoring.yaml": ("default: {warm: 30, hot: 70}", "default: {warm: 25, hot: 60}"),
        "stages.yaml": ("score: {at_least: 10}", "score: {at_least: 12}"),
        "segments.yaml": ("segments:\n", "segments:\n  - id: everyone-live\n    where: {score: {gte: 0}}\n"),
        "rules.yaml": ("rules:\n", "rules:\n  - id: live-rule\n    when: {event: live.test}\n"
                                   "    then:\n      - tag: {add: [live]}\n"),
        "consent.yaml": ("organisation: Nurture", "organisation: Live Org"),
        "sending.yaml": ('sms: {from: "08:00"', 'sms: {from: "09:30"'),
    })
    time.sleep(0.3)  # past POLL_S
    folder = folder_for(live)
    assert folder.parent.name == "cache" and (folder / "templates").is_dir()
    assert tuple(thresholds) == (25, 60)
    scoring, stages = load_models()
    assert scoring is not None and scoring.thresholds == (25, 60)
    assert stages is not None and [r.score_at_least for r in stages.rules if r.id == "engaged"] == [12]
    assert "everyone-live" in default_segments() and "everyone-live" not in before["segments"]
    assert "live-rule" in [r.id for r in load_rules().rules]
    assert (before["org"], consent.organisation) == ("Nurture", "Live Org")
    assert (before["sms"], default_sending_rules().channels["sms"].from_min) == (8 * 60, 9 * 60 + 30)


def test_a_live_hook_scores_with_the_deployment_of_the_events_store(live: Store) -> None:
    from marketing.hooks import _live, load_models
    from marketing.scoring import scoring_hook

    hook = _live("scoring_hook", scoring_hook, 0)
    def visit() -> int:  # a new contact each time: no cap in the way
        cid = live.create_contact(email=f"live-hook-{time.monotonic_ns()}@example.com")
        event_id = live.record_event(cid, "page.visited", data={"url": "/pricing"})
        before = live.get_scores(cid).get("global", 0)
        hook(live, cid, "page.visited", {"url": "/pricing"}, event_id)
        return live.get_scores(cid)["global"] - before

    assert visit() == 10  # journeys/scoring.yaml on disk: pricing-visit 10 points
    deploy(live, {"scoring.yaml": ("    points: 10\n", "    points: 25\n")})
    time.sleep(0.3)
    assert visit() == 25
    assert load_models()[0] is load_models()[0]  # parsed once per deployment
