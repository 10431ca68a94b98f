"""GDPR erasure across the store and Temporal: erase the contact's personal data (keeping the
suppression hashes and a pseudonymous audit line; with the payload codec, its key too) and
terminate the contact's running journeys with a reason that holds only ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

TERMINATE_REASON = "contact erased (GDPR)"


@dataclass
class Erasure:
    contact_id: int
    removed: dict[str, int] = field(default_factory=dict)  # rows per kind; {} if already erased
    stopped: list[str] = field(default_factory=list)  # workflow ids terminated
    not_running: list[str] = field(default_factory=list)  # already ended in Temporal
    failed: list[tuple[str, str]] = field(default_factory=list)  # (workflow id, error)


async def erase(client: Any, store: Any, contact_id: int) -> Erasure:
    """Erase first (the obligation that must not wait on Temporal), then stop the runs."""
    runs = [(e["workflow_id"], e["run_id"]) for e in store.export_contact(contact_id)["enrolments"]]
    running = set(store.running_workflow_ids(contact_id))
    out = Erasure(contact_id, removed=store.erase_contact(contact_id))
    for workflow_id, run_id in runs:
        if workflow_id not in running:
            continue
        try:
            await client.get_workflow_handle(workflow_id).terminate(reason=TERMINATE_REASON)
            out.stopped.append(workflow_id)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                out.failed.append((workflow_id, exc.message))
                continue
            out.not_running.append(workflow_id)
        store.finish_enrolment(workflow_id, run_id, "erased")
    return out
