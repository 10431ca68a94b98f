"""The command-line commands, one module each. Add a module here to add a command.

A module defines `register(subparsers)` which adds its parser and sets
`func=<callable(args) -> int>`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_NAMES = [
    # "validate",  # added by the modules as they land
    "validate",
    "graph",
    "simulate",
    "test",
    "plan",
    "apply",
    "deployments",
    "enroll",
    "status",
    "dev",
    "outbox",
    "serve",
    "event",
    "segments",
    "report",
    "analyze",
    "contacts",
    "scores",
    "suppress",
    "codec_server",
    "snippet",
    "forms",
    "dkim",
    "preview",
    "send_test",
    "explain",
    "anonymous",
    "bounces",
]

COMMAND_MODULES: list[ModuleType] = [importlib.import_module(f"commands.{n}") for n in _NAMES]
