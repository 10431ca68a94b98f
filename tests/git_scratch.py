"""A scratch git repository holding a journeys/ folder, and the CLI run inside it, for the
deployment tests (issue 19): one real Temporal dev server per module, a SQLite store per test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.deploy_helpers import write_journey

ROOT = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def scratch_repo(tmp: Path, journey_id: str = "git-demo") -> Path:
    """tmp/repo: `git init`, journeys/<journey_id>.yaml with its templates, one commit on main."""
    repo = tmp / "repo"
    (repo / "journeys").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Git User")
    git(repo, "config", "user.email", "git.user@example.com")
    write_journey(repo / "journeys", journey_id)
    commit(repo, "first journey")
    return repo


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class Cli:
    """`python cli.py ...` run in a folder, against one Temporal server and one store."""

    def __init__(self, address: str, db_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in ("NURTURE_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")}
        self.env.update(TEMPORAL_ADDRESS=address, NURTURE_DB_URL=db_url,
                        NURTURE_TASK_QUEUE=f"test-{uuid.uuid4().hex[:8]}")

    def run(self, cwd: Path, *args: str, env: dict[str, str] | None = None,
            background: bool = False) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
        cmd = [sys.executable, str(ROOT / "cli.py"), *args]
        full = dict(self.env, **(env or {}))
        if background:
            return subprocess.Popen(cmd, cwd=cwd, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return subprocess.run(cmd, cwd=cwd, env=full, capture_output=True, text=True, timeout=120)

    def __call__(self, cwd: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        result = self.run(cwd, *args, **kw)  # type: ignore[arg-type]
        assert isinstance(result, subprocess.CompletedProcess)
        return result
