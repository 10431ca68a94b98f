"""A CLI command whose reader goes away (`python cli.py ... | head -1`) ends quietly with the
shell's SIGPIPE status, 141: no traceback, no `error: [Errno 32] Broken pipe`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv", [["validate", "journeys/trial-to-paid.yaml"], ["segments"]], ids=" ".join)
def test_a_closed_pipe_ends_quietly(argv: list[str], tmp_path: Path) -> None:
    env = dict(os.environ, NURTURE_DB_URL=f"sqlite:///{tmp_path / 'nurture.db'}")
    proc = subprocess.Popen([sys.executable, "cli.py", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes anything: its first write meets a closed pipe
    err = proc.stderr.read()
    assert (proc.wait(timeout=60), err) == (141, "")
