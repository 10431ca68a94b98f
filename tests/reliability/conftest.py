"""Fixtures of the reliability suite: real processes (dev server, worker, SMTP sink) per test.

`slow` tests (the 10,000-file fuzz) run only with NURTURE_SLOW=1; CI runs the rest."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.harness import FIRST_NAME, PHONE_PREFIX, Rig
from tests.reliability.pii import scan_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long runs, only with NURTURE_SLOW=1 (not in CI)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NURTURE_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: set NURTURE_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A file-backed dev server, an SMTP sink and a SQLite store; workers are started by the test.
    Afterwards every history on the server is scanned for personal data."""
    async with Rig(tmp_path / "rig") as r:
        yield r
        started = r.enrolled_workflow_ids()
        scanned, problems = await scan_server(r.client, (FIRST_NAME, "Quill"), (f"{PHONE_PREFIX}0000",), started)
        assert scanned >= len(started) > 0, f"{scanned} histories scanned, {len(started)} runs started"
        assert not problems, f"personal data in {len(problems)} of {scanned} histories: {problems[:3]}"
