"""Teams (`journeys/teams.yaml`, schema `schemas/teams.schema.json`): the names `notify: {to: NAME}`
may use. Addresses are not here but in the environment (`NURTURE_TEAM_<NAME>`, activities/deps.py):
declaring the names in git lets `validate` refuse a misspelt team without knowing any address."""

from __future__ import annotations

from compiler.config_file import validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Problems
from compiler.yaml_loader import LoadedDoc

FILE_NAME = "teams.yaml"
SCHEMA_NAME = "teams"


def build_teams(doc: LoadedDoc, problems: Problems) -> tuple[str, ...]:
    """The declared team ids, in file order; a duplicate is an error."""
    seen: dict[str, int] = {}
    for i, team in enumerate(doc.data.get("teams") or []):
        if team["id"] in seen:
            first = doc.pos(("teams", seen[team["id"]], "id"))[0]
            problems.add(doc.pos(("teams", i, "id")), f'team "{team["id"]}" is declared twice (first at line {first})')
        else:
            seen[team["id"]] = i
    return tuple(seen)


CONFIG_VALIDATORS[FILE_NAME] = validate_with(SCHEMA_NAME, build_teams)
