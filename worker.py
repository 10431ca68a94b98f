"""The Nurture worker: `python worker.py` serves JourneyWorkflow and its activities.

It connects with Temporal's standard client configuration (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY / TLS, TEMPORAL_CONFIG_FILE profiles through
temporalio.envconfig), so the same worker runs against the local dev server, a
self-hosted cluster or Temporal Cloud. Ctrl-C / SIGTERM drain it gracefully.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from typing import Any, Awaitable, Callable

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.deps import Deps
from activities.registry import JourneyActivities
from activities.sweep import SweepActivities
from workflows.journey import JourneyWorkflow
from workflows.run_types import TASK_QUEUE
from workflows.segment_sweep import SegmentSweepWorkflow

# Deterministic, I/O-free modules the workflow imports: shared with the sandbox
# instead of re-imported per run (cuts worker CPU per workflow, see temporal-notes).
PASSTHROUGH = ("compiler", "activities", "workflows.run_types")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox settings of the worker (also used by the replay tests)."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH))


def create_worker(
    client: Client,
    deps: Deps,
    *,
    task_queue: str = TASK_QUEUE,
    max_concurrent_activities: int = 100,
    max_cached_workflows: int = 1000,
) -> Worker:
    if deps.publish_event is None:
        deps.publish_event = event_path(client, deps, task_queue)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow, SegmentSweepWorkflow],
        activities=JourneyActivities(deps).all() + [SweepActivities(deps.store).sweep_segment],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=max_concurrent_activities,
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


def event_path(client: Client, deps: Deps, task_queue: str) -> Callable[..., Awaitable[Any]]:
    """What an activity calls to report an event it learned (a bounce): engine.events.publish
    with this worker's client, so scoring, rules and the contact's running journeys hear it."""
    from engine.events import publish

    async def publish_event(contact_id: int, event_type: str, **fields: Any) -> None:
        await publish(client, deps.store, contact_id, event_type, task_queue=task_queue, deps=deps, **fields)

    return publish_event


def dkim_warnings(deps: Deps) -> list[str]:
    """Senders the DKIM key does not align with: the worker's default and sending.yaml's."""
    if deps.dkim is None:
        return []
    from activities.dkim_signing import alignment_warnings
    from compiler.sending_model import default_sending_rules

    return alignment_warnings(deps.dkim, [deps.sender, default_sending_rules().sender or ""])


async def connect() -> Client:
    """A client from Temporal's environment configuration (address, namespace, TLS, API key)."""
    from temporalio.envconfig import ClientConfig

    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    if os.environ.get("NURTURE_CODEC") == "1":  # encrypted payloads, one key per contact (codec/)
        from codec import data_converter_from_env

        config["data_converter"] = data_converter_from_env()
    return await Client.connect(**config)


async def serve(task_queue: str = TASK_QUEUE) -> None:
    from marketing.hooks import temperature_thresholds

    deps = Deps.from_env()  # configuration first: a bad value (a DKIM key too) fails before any connection
    for line in dkim_warnings(deps):
        print(f"worker: warning: {line}", file=sys.stderr, flush=True)
    client = await connect()
    deps.temperature_thresholds = temperature_thresholds(store=deps.store)  # the live deployment's, at each use
    worker = create_worker(client, deps, task_queue=task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(f"worker serving task queue {task_queue!r} on {client.service_client.config.target_host}", flush=True)
        await stop.wait()
        print("worker shutting down (finishing running activities)...", flush=True)


if __name__ == "__main__":
    from activities.deps import ConfigurationError

    try:
        asyncio.run(serve(os.environ.get("NURTURE_TASK_QUEUE", TASK_QUEUE)))
    except ConfigurationError as exc:  # a bad NURTURE_* value: one line, exit 1
        raise SystemExit(f"worker: {exc}") from None
