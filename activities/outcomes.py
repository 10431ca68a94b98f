"""Writing a run's step outcomes for reports: `journey.split`, `journey.goal`,
`journey.exited`, `journey.completed`. A final outcome also closes the run's enrolment so
events stop being routed to it.

Callers hold the store transaction: `record_outcome` (a local activity of its own) or a send
that is the run's last step (`send_ledger.mark_sent`), which saves one commit per run."""

from __future__ import annotations

from typing import Any

from activities.contracts import StepRef
from activities.timing import step_now

FINAL_OUTCOMES = ("completed", "exited", "goal")
END_OF_JOURNEY = {"reason": "end"}  # the detail of a run that ran off its last step


def write_outcome(store: Any, ref: StepRef, outcome: str, detail: dict[str, Any]) -> None:
    """Record one outcome; a final outcome whose end is recorded already (a retried attempt)
    is not reported twice."""
    if outcome in FINAL_OUTCOMES and not store.finish_enrolment(ref.workflow_id, ref.run_id, outcome):
        return
    store.record_event(
        ref.contact_id,
        f"journey.{outcome}",
        journey_id=ref.journey_id,
        step_id=ref.step_id,
        data={**detail, "version": ref.version, "workflow_id": ref.workflow_id},
        at=step_now(ref.at),
    )


def finished_with(ledger_status: str, finish: bool) -> bool:
    """Whether a finishing send (SendInput.finish) whose ledger entry has this status recorded
    the run's completion: `send_ledger.mark_sent` commits both together."""
    return finish and ledger_status == "sent"
