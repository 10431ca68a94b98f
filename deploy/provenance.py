"""Where a deployment comes from: the git commit of the journeys folder (and whether the
folder has uncommitted changes), the branch, and who applies it.

A folder outside any git repository has no commit ("no commit" in `deployments`)."""

from __future__ import annotations

import getpass
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# CI variables naming the person or bot that triggered the job, first match wins
CI_ACTORS = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR", "CIRCLE_USERNAME",
             "BITBUCKET_STEP_TRIGGERER_UUID", "BUILD_REQUESTEDFOR", "TRAVIS_COMMIT_AUTHOR")
CI_BRANCHES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BUILDKITE_BRANCH", "CIRCLE_BRANCH",
               "BITBUCKET_BRANCH")


@dataclass(frozen=True)
class Source:
    commit: str | None
    dirty: bool
    branch: str | None
    actor: str
    root: str | None = None  # the repository's top folder


def git(folder: Path, *args: str) -> str | None:
    """`git -C folder args` output (stripped), None when it fails (not a repository, no git)."""
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _folder(path: Path) -> Path:
    path = path.resolve()
    return path if path.is_dir() else path.parent


def actor(explicit: str | None, folder: Path | None = None) -> str:
    """--actor, else NURTURE_ACTOR, else the CI's own variable, else the git user, else the login."""
    for value in (explicit, os.environ.get("NURTURE_ACTOR"), *(os.environ.get(v) for v in CI_ACTORS)):
        if value and value.strip():
            return value.strip()
    if folder is not None:
        name = git(folder, "config", "user.name")
        if name:
            return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def source_of(path: str | Path, explicit_actor: str | None = None) -> Source:
    """The provenance of deploying `path` (a folder or one file)."""
    folder = _folder(Path(path))
    who = actor(explicit_actor, folder)
    root = git(folder, "rev-parse", "--show-toplevel")
    if root is None:
        return Source(None, False, None, who)
    commit = git(folder, "rev-parse", "--verify", "-q", "HEAD")  # None in a repository without commits
    status = git(folder, "status", "--porcelain", "--untracked-files=all", "--", str(Path(path).resolve()))
    branch = next((os.environ[v] for v in CI_BRANCHES if os.environ.get(v)), None)
    if branch is None:
        name = git(folder, "rev-parse", "--abbrev-ref", "HEAD")
        branch = name if name and name != "HEAD" else None
    return Source(commit, bool(status) or commit is None, branch, who, root)


def stale_refusal(source: Source, live_commit: str | None, live_label: str) -> str:
    """Why deploying `source` would overwrite a live deployment it does not contain ("" if
    it does): the live commit must be an ancestor of (or equal to) the commit deployed."""
    if not live_commit or not source.root:
        return ""  # nothing to compare: the live deployment or this folder is outside git
    if source.commit == live_commit:
        return ""
    if source.commit and git(Path(source.root), "merge-base", "--is-ancestor", live_commit, source.commit) is not None:
        return ""
    known = git(Path(source.root), "cat-file", "-e", f"{live_commit}^{{commit}}") is not None
    why = ("is not in this branch's history" if known else "is unknown to this repository (fetch it?)")
    return (f"stale base: the live deployment is commit {live_label}, which {why}; "
            "merge or rebase onto it, or deploy anyway with --force; nothing applied")
