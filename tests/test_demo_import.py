"""`cli.py dev --demo`'s contacts (demo/contacts.csv, devstack/demo.py) arrive with a stage and a
score that fits it, so the runs' `Stage`/`Score` search attributes and `report` show something."""

from __future__ import annotations

import csv
from pathlib import Path

from devstack.demo import DEMO_CSV, import_contacts
from marketing.stages import load_stages

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_import_gives_stages_and_scores(store):
    ids = import_contacts(store)
    profiles = [store.read_profile(cid) for cid in ids]
    assert [(p["stage"], p["score"]) for p in profiles] == [
        ("mql", 62), ("lead", 24), ("subscriber", 5), ("sql", 78), ("opportunity", 85)]
    assert [p["temperature"] for p in profiles] == ["warm", "cold", "cold", "hot", "hot"]
    assert [h.to_stage for h in store.stage_history(ids[0])] == ["mql"]
    assert import_contacts(store) == ids  # a second start finds them
    assert [store.read_profile(cid)["score"] for cid in ids] == [62, 24, 5, 78, 85]


def test_every_demo_stage_is_declared_and_fits_its_score():
    """journeys/stages.yaml's score rules would not move any demo contact at its next event."""
    model = load_stages(ROOT / "journeys" / "stages.yaml")
    with open(DEMO_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(model.position(row["stage"]) >= 0 for row in rows)
    assert [model.next_stage(row["stage"], "page.visited", {}, {"global": int(row["score"])}) for row in rows] == [
        None] * len(rows)
