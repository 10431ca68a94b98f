"""Compile the journeys to deploy, turning compiler errors into one clear DeployError.

The same checks as `cli.py validate`: the journeys (with their references to segments, stages,
consent purposes, teams and templates) and, for a folder, its configuration files (with theirs),
so a journey or rule naming something undefined never reaches `plan` or `apply`."""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Diagnostic
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
    errors = [str(d) for r in results for d in r.errors] + [str(d) for d in config_errors(path)]
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


def config_errors(path: Path) -> list[Diagnostic]:
    """The problems of the configuration files (segments.yaml, rules.yaml, ...) among `path`."""
    from compiler.config_files import config_validator, split_files, validator_key

    out: list[Diagnostic] = []
    for f in split_files([path])[1]:
        check = config_validator(validator_key(f))
        out += check(f) if check else []
    return out


def folder_contents(path: str | Path) -> dict[str, str] | None:
    """What a deployment of the folder ships besides the compiled journeys: its files by
    relative name (the journey and config YAML files at its top, templates/ with its
    subfolders) -> content; the processes run the config files from it (marketing/model.py).
    None for a single journey file (it ships none). Scenario tests (tests/) are for
    `cli.py test`, not deployed; a file that is not UTF-8 text is not either."""
    path = Path(path)
    if not path.is_dir():
        return None
    files = [f for f in path.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file()]
    if (path / "templates").is_dir():
        files += [f for f in (path / "templates").rglob("*") if f.is_file()]
    out: dict[str, str] = {}
    for f in sorted(files):
        try:
            out[f.relative_to(path).as_posix()] = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return out
