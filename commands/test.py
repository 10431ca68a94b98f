"""`python cli.py test [PATH...]`: run the journey scenarios in journeys/tests/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DIR = Path("journeys") / "tests"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test",
        help="run journey scenarios (journeys/tests/*.yaml) on the time-skipping server",
        description="Each scenario gives a contact and events; the real workflow runs and its path, outcome "
        "and messages are compared with the expectation.",
    )
    p.add_argument("paths", nargs="*", type=Path, help=f"scenario files or folders (default: {DEFAULT_DIR})")
    p.add_argument("-k", dest="match", help="only scenarios whose name contains this text")
    p.set_defaults(func=run)


def scenario_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths or [DEFAULT_DIR]:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files


def run(args: argparse.Namespace) -> int:
    import asyncio

    from commands.journey_arg import load_journey
    from engine.scenarios import load_scenarios, run_scenarios
    from compiler.config_file import ConfigError

    scenarios, errors = [], []
    for file in scenario_files(args.paths):
        try:
            scenarios.extend(load_scenarios(file))
        except (ConfigError, OSError) as exc:
            errors.append(str(exc))
    journeys = {}
    for name in sorted({s.journey for s in scenarios}):
        try:
            journeys[name] = load_journey(name)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    if args.match:
        scenarios = [s for s in scenarios if args.match in s.name]
    outcomes = asyncio.run(run_scenarios(scenarios, journeys))
    for o in outcomes:
        print(f"{'ok  ' if o.ok else 'FAIL'} {o.scenario.journey}: {o.scenario.name}")
        for failure in o.failures:
            print(f"     {o.scenario.where}: {failure}")
    failed = sum(not o.ok for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0
