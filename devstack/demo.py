"""`cli.py dev --demo`: import a few sample contacts (with marketing consent for email
and SMS, a lifecycle stage and a score that fits it: journeys/stages.yaml moves a contact to
lead at 10 points and to mql at 50) and enrol them in example journeys."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

DEMO_CSV = Path(__file__).resolve().parent.parent / "demo" / "contacts.csv"
DEMO_JOURNEYS = ("welcome-series", "trial-to-paid")
PROFILE_FIELDS = ("external_id", "email", "phone", "first_name", "locale", "timezone", "stage")
REASON = "demo import"


def import_contacts(store: Any, path: Path = DEMO_CSV) -> list[int]:
    """Create (or find, on a second start) each contact with its stage and score and grant its
    consent; return the ids."""
    ids: list[int] = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found = store.find_contact(external_id=row["external_id"])
            if found is not None:
                ids.append(found.id)
                continue
            cid = store.create_contact(**{k: row[k] for k in PROFILE_FIELDS if row.get(k)})
            if row.get("score"):
                store.set_score(cid, int(row["score"]), reason=REASON)
            for channel in ("email", "sms"):
                store.record_consent(cid, channel, "marketing", "granted", source="demo-import",
                                     wording_version="demo")
            ids.append(cid)
    return ids


async def enrol_demo(client: Any, store: Any, contact_ids: list[int], task_queue: str) -> list[str]:
    """Enrol the contacts in the demo journeys that are deployed; one summary line each."""
    from deploy.enrolment import active_journey, enrol_many
    from deploy.load import DeployError

    lines: list[str] = []
    for journey_id in DEMO_JOURNEYS:
        try:
            journey = active_journey(store, journey_id)
        except DeployError as exc:
            lines.append(f"demo: {exc}")
            continue
        summary = await enrol_many(client, store, journey, contact_ids, task_queue=task_queue)
        lines.append(f"demo: {journey_id}: " + ", ".join(summary.lines()))
    return lines
