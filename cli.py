"""Nurture's command line: `python cli.py COMMAND ...` (see `python cli.py --help`).

Each command lives in its own module under `commands/` and exposes
`register(subparsers)`; this file only wires them together. Command modules keep
their top-level imports light (heavy ones go inside the function that runs), so
`python cli.py validate` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys

from commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python cli.py" if sys.argv[0].endswith("cli.py") else "nurture",
        description="Nurture: marketing nurture journeys as YAML in git, run durably on Temporal.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


# Short-lived commands that start a Temporal client (or a simulation's worker) in this process.
# Serving commands (dev, serve) keep temporalio's default core logging, like worker.py; the
# others never load temporalio (validate must start fast).
CLIENT_COMMANDS = {"simulate", "test", "plan", "apply", "enroll", "status", "event", "contacts", "explain"}
# The core's warnings a CLI user cannot act on: the time-skipping test server (simulate,
# test) does not advertise the heartbeat-details capability, and the core says so at every start.
QUIET_CORE_TARGETS = ("temporalio_sdk_core::worker",)


def quiet_core_logs() -> None:
    """Set the default Temporal runtime's log filter for a CLI run (before any client exists)."""
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    log_filter = ",".join([TelemetryFilter(core_level="WARN", other_level="ERROR").formatted()]
                          + [f"{target}=ERROR" for target in QUIET_CORE_TARGETS])
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=log_filter))),
                        error_if_already_set=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in CLIENT_COMMANDS:
        quiet_core_logs()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `cli.py contacts export 1 | head`: the reader left early, not a failure to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not fail again
        return 141  # as a shell reports a process ended by SIGPIPE


def run() -> None:
    """`python cli.py` and the `nurture` console script (pyproject's [project.scripts])."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left before the buffered output was written
        code = code or 141
    sys.stderr.flush()
    # temporalio's core can abort at interpreter exit in short-lived clients
    # (sdk-python issue 300); leave without running finalizers.
    os._exit(code)


if __name__ == "__main__":
    run()
