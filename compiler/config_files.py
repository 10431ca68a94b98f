"""Which YAML files in a journeys folder are journeys, and which are other configuration.

Other configuration files (scoring.yaml, stages.yaml, ...) live next to the journeys with
their own schemas. Whoever owns one registers a validator for its file name:

    from compiler.config_files import CONFIG_VALIDATORS
    CONFIG_VALIDATORS["scoring.yaml"] = validate_scoring   # (Path) -> list[Diagnostic]

`python cli.py validate` then runs it; a known config name without a validator is skipped.
A file whose names point into other files (compiler/references.py CONFIG_REFS) also gets those
references checked (once it fits its schema).
So that validate stays fast, name the module that registers it in CONFIG_VALIDATOR_MODULES:
it is imported only when a file of that name is being validated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from compiler.diagnostics import Diagnostic

ConfigValidator = Callable[[Path], list[Diagnostic]]

CONFIG_VALIDATORS: dict[str, ConfigValidator] = {}
CONFIG_FILE_NAMES: frozenset[str] = frozenset(
    {"scoring.yaml", "stages.yaml", "segments.yaml", "rules.yaml", "consent.yaml", "sending.yaml", "teams.yaml",
     "forms.yaml"}
)


# journey scenario files (journeys/tests/*.yaml) are configuration too, keyed by this pattern
SCENARIOS = "tests/*.yaml"

CONFIG_VALIDATOR_MODULES: dict[str, str] = {
    SCENARIOS: "engine.scenarios",
    "consent.yaml": "compiler.consent_model",
    "sending.yaml": "compiler.sending_model",
    "segments.yaml": "marketing.segments",
    "rules.yaml": "marketing.rules",
    "scoring.yaml": "marketing.scoring_model",
    "stages.yaml": "marketing.stages",
    "teams.yaml": "compiler.teams_model",
    "forms.yaml": "compiler.forms_model",
}


def config_validator(file_name: str) -> ConfigValidator | None:
    """The validator registered for `file_name` (importing its module on first use), followed by
    the check of its references to other files when it has any."""
    module = CONFIG_VALIDATOR_MODULES.get(file_name)
    if file_name not in CONFIG_VALIDATORS and module:
        import importlib

        importlib.import_module(module)
    own = CONFIG_VALIDATORS.get(file_name)
    from compiler.references import CONFIG_REFS, check_config_references

    if own is None or file_name not in CONFIG_REFS:
        return own

    def check(path: Path) -> list[Diagnostic]:
        return sorted(set(own(path) + check_config_references(path)))

    return check


def validator_key(path: Path) -> str:
    """What a file's validator is registered under: its name, or SCENARIOS in a tests/ folder."""
    return SCENARIOS if path.parent.name == "tests" else path.name


def is_config_file(path: Path) -> bool:
    key = validator_key(path)
    return key == SCENARIOS or key in CONFIG_FILE_NAMES or key in CONFIG_VALIDATORS


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder means its *.yaml / *.yml files and those of its tests/ folder
    (journey scenarios), no other subfolders."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            folders = [p] + ([p / "tests"] if p.name != "tests" and (p / "tests").is_dir() else [])
            for folder in folders:
                out.extend(sorted(f for f in folder.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file()))
        else:
            out.append(p)
    return out


def split_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(journey files, config files) among `paths`."""
    files = expand(paths)
    return [f for f in files if not is_config_file(f)], [f for f in files if is_config_file(f)]
