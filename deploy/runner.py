"""Run an async CLI action with a Temporal client and the store, turning expected
failures (bad journeys, unreachable server, bad store URL) into one clear line."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any, Awaitable, Callable

from deploy.load import DeployError

Action = Callable[[Any, Any], Awaitable[int]]


def task_queue() -> str:
    """Where journey runs are served: NURTURE_TASK_QUEUE (as for worker.py), else the default."""
    from workflows.run_types import TASK_QUEUE

    return os.environ.get("NURTURE_TASK_QUEUE") or TASK_QUEUE


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _connect() -> Any:
    from worker import connect

    try:
        return await connect()
    except RuntimeError as exc:
        where = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
        raise DeployError(f"cannot reach Temporal at {where} ({exc}); start it with `python cli.py dev` "
                          "or set TEMPORAL_ADDRESS") from None


def open_store() -> Any:
    from store import Store

    try:
        return Store.open(os.environ.get("NURTURE_DB_URL"))
    except Exception as exc:  # a bad URL or an unreachable database
        raise DeployError(f"cannot open the store (NURTURE_DB_URL): {exc}") from None


def run_action(action: Action, *, needs_client: bool = True) -> int:
    """asyncio.run(action(client, store)) with clear errors instead of tracebacks."""
    from store import StoreError

    async def main() -> int:
        store = open_store()
        try:
            client = await _connect() if needs_client else None
            return await action(client, store)
        finally:
            store.close()

    try:
        return asyncio.run(main())
    except (DeployError, StoreError) as exc:
        return fail(str(exc))
