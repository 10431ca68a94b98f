"""Made-up activity for journeys, written as the rows the product writes (enrolments, `*.sent`
events and messages, opens/clicks through messages, bounces, refusals, outcome events), to look at
the report page with numbers in it. The report's numbers themselves are checked on real runs in
tests/test_report.py; this is for the page.

    python -m tests.report_sample sqlite:////tmp/report.db [--empty JOURNEY ...]
    python cli.py report --format html --db sqlite:////tmp/report.db -o /tmp/report.html
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from compiler import graph, ir
from compiler.compile import load_journeys


def fill(store: Any, journey: ir.Journey, *, contacts: int = 40, seed: int = 7) -> None:
    """`contacts` runs of `journey`, each sending every send step with some chance, and engaging."""
    rnd = random.Random(f"{seed}/{journey.id}")
    steps = {s.id: s for s in journey.steps}
    out: dict[str, list[str]] = {}
    for e in graph.edges(journey):
        out.setdefault(e.src, []).append(e.dst)
    for n in range(contacts):
        cid = store.create_contact(email=f"{journey.id}-{n}@example.com")
        workflow_id = f"journey/{journey.id}/{cid}"
        store.record_enrolment(journey.id, cid, workflow_id=workflow_id)
        path = _walk(rnd, steps, out, journey.first_step)
        for step in path:
            if isinstance(step, ir.Split):
                variant = rnd.choice([v.name for v in step.variants] + (["holdout"] if step.holdout else []))
                store.record_event(cid, "journey.split", journey_id=journey.id, step_id=step.id,
                                   data={"workflow_id": workflow_id, "variant": variant})
            if not isinstance(step, (ir.SendEmail, ir.SendSms)):
                continue
            if rnd.random() < 0.08:
                store.record_consent_decision(cid, channel="email", purpose="marketing", granted=False,
                                              basis="no consent", workflow_id=workflow_id, step_id=step.id)
                continue
            _send(store, rnd, cid, journey.id, step)
        last = path[-1] if path else None
        if journey.goal and rnd.random() < 0.15:
            store.record_event(cid, "journey.goal", journey_id=journey.id, data={"workflow_id": workflow_id})
        elif isinstance(last, ir.Exit):
            store.record_event(cid, "journey.exited", journey_id=journey.id, step_id=last.id,
                               data={"workflow_id": workflow_id, "reason": last.reason})
        else:
            store.record_event(cid, "journey.completed", journey_id=journey.id, data={"workflow_id": workflow_id})


def _walk(rnd: random.Random, steps: dict[str, ir.Step], out: dict[str, list[str]], first: str) -> list[ir.Step]:
    """One random path through the graph (at most 30 steps)."""
    path, node = [], first
    while node in steps and len(path) < 30:
        path.append(steps[node])
        node = rnd.choice(out.get(node) or [graph.END])
    return path


def _send(store: Any, rnd: random.Random, cid: int, journey_id: str, step: ir.Step) -> None:
    channel = "sms" if isinstance(step, ir.SendSms) else "email"
    mid = f"<{journey_id}.{step.id}.{cid}@sample>"
    store.save_message(mid, contact_id=cid, journey_id=journey_id, step_id=step.id, channel=channel,
                       links=["https://example.com/a"])
    if channel == "email" and rnd.random() < 0.04:
        store.record_event(cid, "email.bounced", journey_id=journey_id, step_id=step.id, message_id=mid)
        return
    store.record_event(cid, f"{channel}.sent", journey_id=journey_id, step_id=step.id, message_id=mid)
    if channel == "sms":
        return
    if rnd.random() < 0.1:
        store.record_event(cid, "email.clicked", message_id=mid, data={"likely_bot": True})
    if rnd.random() < 0.45:
        store.record_event(cid, "email.opened", message_id=mid)
        if rnd.random() < 0.3:
            store.record_event(cid, "email.clicked", message_id=mid)
        if rnd.random() < 0.05:
            store.record_event(cid, "email.unsubscribed", message_id=mid)


def main() -> None:
    from store import Store

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("db", help="a store URL, e.g. sqlite:////tmp/report.db")
    p.add_argument("--journeys", default="journeys")
    p.add_argument("--empty", nargs="*", default=[], help="journeys left without any activity")
    args = p.parse_args()
    with Store.open(args.db) as store:
        for jid, journey in sorted(load_journeys(args.journeys).items()):
            if jid not in args.empty:
                fill(store, journey)


if __name__ == "__main__":
    main()
