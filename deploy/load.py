"""Compile the journeys to deploy, turning compiler errors into one clear DeployError."""

from __future__ import annotations

from pathlib import Path

from compiler.ir import Journey


class DeployError(Exception):
    """Something the user must fix before deploying; the message says what."""


def load_for_deploy(path: str | Path) -> dict[str, Journey]:
    """Every journey under `path` (a folder or one file), or DeployError listing the problems."""
    from compiler.compile import compile_paths

    path = Path(path)
    if not path.exists():
        raise DeployError(f"{path}: no such file or folder")
    results = compile_paths([path])
    errors = [str(d) for r in results for d in r.errors]
    if errors:
        raise DeployError(f"{len(errors)} error(s); nothing deployed:\n" + "\n".join(errors))
    journeys: dict[str, Journey] = {}
    for r in results:
        if r.journey is None:
            continue
        if r.journey.id in journeys:
            raise DeployError(f"{r.path}: journey id {r.journey.id!r} is used by two files")
        journeys[r.journey.id] = r.journey
    if not journeys:
        raise DeployError(f"{path}: no journey files found")
    return journeys
