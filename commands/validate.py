"""`python cli.py validate [PATH...]`: check journeys (and registered config files)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check journey files against the schema and the graph rules",
        description="Check journeys: prints `ok: N journeys, M config files`, or every error as path:line:col: message.",
    )
    p.add_argument("paths", nargs="*", default=["journeys"], help="files or folders (default: journeys/)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from compiler.compile import compile_paths
    from compiler.config_files import config_validator, split_files, validator_key

    journey_files, config_files = split_files(args.paths)
    results = compile_paths(journey_files, workers=os.cpu_count() or 1)
    errors = [d for r in results for d in r.errors]
    validators = {f: config_validator(validator_key(f)) for f in config_files}  # imported only when needed
    checked_configs = [f for f, check in validators.items() if check]
    for f in checked_configs:
        errors.extend(validators[f](f))  # type: ignore[misc]
    if args.format == "json":
        print(
            json.dumps(
                {
                    "ok": not errors,
                    "journeys": [{"path": r.path, "id": r.journey.id, "version": r.journey.version} for r in results if r.journey],
                    "config_files": [str(f) for f in checked_configs],
                    "errors": [d.to_dict() for d in errors],
                },
                indent=2,
            )
        )
        return 1 if errors else 0
    if errors:
        print("\n".join(map(str, errors)))
        bad = len({d.path for d in errors})
        print(f"{len(errors)} error(s) in {bad} file(s)", file=sys.stderr)
        return 1
    extra = f", {len(checked_configs)} config files" if checked_configs else ""
    print(f"ok: {len(results)} journeys{extra}")
    return 0
