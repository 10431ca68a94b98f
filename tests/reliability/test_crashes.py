"""Kill -9 the worker, or restart the dev server, in the middle of 300 runs: every run
completes and every contact gets each of its two emails exactly once (by Message-ID)."""

from __future__ import annotations

import pytest

from bench.harness import Rig, delivery_problems, enrol_all, make_contacts, sent_message_ids, two_emails, wait_all

# The waits inside fail on a stall (no run ends, no message arrives for a minute), so this is only
# the guard against a hang: the runs' total time follows the CPU the machine gives (see wait_all).
pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(1200)]

RUNS = 300


# A SIGKILL between the ledger's "transmitting" mark and the server's answer to DATA's final "."
# leaves a send that nobody can prove happened; the runtime records it as sent/uncertain and
# does not resend (never twice). Those may be missing from the sink; no other may. Their number
# depends on where the kill lands among ~100 sends in flight: 0-5 of 600 messages in 9 runs on
# 2026-11-23 (3-18 uncertain; the window on loopback is the event loop's delay between the mark's
# commit and writing the "."). The bound is 2% of the messages: a regression that widens the
# window (say, marking before DATA over a slow line) or loses sends outside it fails.
MAX_LOST = 12


async def check_all_delivered_once(rig: Rig, workflow_ids: list[str], prefix: str) -> None:
    results = await wait_all(rig.client, workflow_ids, timeout=150)
    outcomes = {getattr(r, "outcome", repr(r)) for r in results}
    assert outcomes == {"completed"}, outcomes
    expected, uncertain = {}, set()
    for i, result in enumerate(results):
        sent, unsure = sent_message_ids(result)
        assert len(sent) == 2, result.trail
        expected[f"{prefix}{i}@example.com"] = sent
        uncertain |= unsure
    problems = delivery_problems(rig.deliveries, expected, uncertain)
    assert not problems, f"{len(problems)} contacts wrong, e.g. {problems[:5]}"
    arrived = {str(d.message["Message-ID"]).strip() for d in rig.deliveries}
    lost = uncertain - arrived
    print(f"{len(rig.deliveries)} messages for {RUNS} runs; {len(uncertain)} uncertain, {len(lost)} of them lost")
    assert len(lost) <= MAX_LOST, f"{len(lost)} messages lost in the uncertain window"


async def test_kill_9_the_worker_mid_run(rig: Rig) -> None:
    journey = two_emails(rig.workdir / "journeys")
    ids = make_contacts(rig.store, RUNS, "k")
    worker = rig.start_worker()
    workflow_ids = await enrol_all(rig.client, rig.store, journey, ids, rig.task_queue)
    await rig.until_delivered(RUNS // 2)
    worker.kill()
    assert 0 < len(rig.deliveries) < 2 * RUNS, "the kill happened mid-run"
    rig.start_worker()
    await check_all_delivered_once(rig, workflow_ids, "k")


async def test_restart_the_dev_server_mid_run(rig: Rig) -> None:
    journey = two_emails(rig.workdir / "journeys")
    ids = make_contacts(rig.store, RUNS, "r")
    rig.start_worker()
    workflow_ids = await enrol_all(rig.client, rig.store, journey, ids, rig.task_queue)
    await rig.until_delivered(RUNS // 2)
    await rig.restart_server(down_s=1.0)
    assert len(rig.deliveries) < 2 * RUNS, "the restart happened mid-run"
    await check_all_delivered_once(rig, workflow_ids, "r")
