"""Send windows per channel and region (`journeys/sending.yaml`, schema `schemas/sending.schema.json`).

A compliance layer under every journey's own `policy.quiet_hours`: e.g. SMS only 08:00-21:00
local time everywhere, and stricter windows by country code. Also the default email sender
(`from`, `reply_to`) of the journeys in its folder, resolved by the compiler (compiler/sender.py),
and the soft-bounce limit (`bounces`, applied by marketing/bounces.py).
Plain data, no I/O beyond loading.

Public API:
    load_sending_rules(path) -> SendingRules        (raises SendingRulesError)
    default_sending_rules() -> SendingRules          (journeys/sending.yaml, or NURTURE_SENDING_FILE;
                                                      the built-in defaults when neither exists)
    rules_if_present(path) -> (SendingRules | None, broken)   (for the compiler's default sender)
    (registered with `cli.py validate` through compiler.config_files)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from compiler.config_file import ConfigError, check_config, validate_with
from compiler.config_files import CONFIG_VALIDATORS
from compiler.diagnostics import Diagnostic, Problems
from compiler.ir import WEEKDAYS
from compiler.sender import check_fields
from compiler.yaml_loader import LoadedDoc

FILE_NAME = "sending.yaml"
SCHEMA_NAME = "sending"
DEFAULT_PATH = Path("journeys") / FILE_NAME
FILE_ENV = "NURTURE_SENDING_FILE"


@dataclass(frozen=True)
class SendWindow:
    """Local wall-clock minutes [from_min, to_min) on `days` (0 = Monday)."""

    from_min: int
    to_min: int
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class BouncePolicy:
    """`bounces:` soft bounces that suppress an address, within how many days."""

    soft_limit: int = 3
    soft_days: int = 30


@dataclass(frozen=True)
class SendingRules:
    channels: dict[str, SendWindow] = field(default_factory=dict)
    regions: dict[str, dict[str, SendWindow]] = field(default_factory=dict)
    sender: str | None = None  # `from`: the default sender of the journeys next to this file
    reply_to: str | None = None
    bounces: BouncePolicy = field(default_factory=BouncePolicy)

    def window(self, channel: str, region: str | None) -> SendWindow | None:
        """The region's window for the channel if it has one, else the channel's, else None."""
        regional = self.regions.get((region or "").upper(), {})
        return regional.get(channel) or self.channels.get(channel)


# Used when no sending.yaml exists: the same as the shipped file (not legal advice).
BUILTIN = SendingRules(
    channels={"sms": SendWindow(8 * 60, 21 * 60)},
    regions={"FR": {"sms": SendWindow(10 * 60, 20 * 60, (0, 1, 2, 3, 4, 5))}},
)


class SendingRulesError(ConfigError):
    """sending.yaml has mistakes; `diagnostics` says where and why."""


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _window(doc: LoadedDoc, path: tuple[Any, ...], raw: dict[str, Any], problems: Problems) -> SendWindow:
    window = SendWindow(
        _minutes(raw["from"]), _minutes(raw["to"]),
        tuple(sorted(WEEKDAYS.index(d) for d in raw.get("days", WEEKDAYS))),
    )
    if window.from_min >= window.to_min:
        problems.add(doc.pos(path + ("to",)),
                     f'{".".join(map(str, path))}: "to" ({raw["to"]}) must be after "from" ({raw["from"]}); '
                     "a send window cannot cross midnight")
    return window


def _build(doc: LoadedDoc, problems: Problems) -> SendingRules:
    data = doc.data
    channels = {ch: _window(doc, ("channels", ch), raw, problems) for ch, raw in data["channels"].items()}
    regions = {
        region: {ch: _window(doc, ("regions", region, ch), raw, problems) for ch, raw in per.items()}
        for region, per in (data.get("regions") or {}).items()
    }
    senders = check_fields(doc, problems)
    bounces = BouncePolicy(**(data.get("bounces") or {}))
    return SendingRules(channels=channels, regions=regions, bounces=bounces, **senders)


EMPTY = "the file is empty; sending.yaml declares channels:"


def check_sending_file(path: str | Path) -> tuple[SendingRules | None, list[Diagnostic]]:
    """The rules, or None and every mistake in the file."""
    return check_config(path, SCHEMA_NAME, _build, EMPTY)


def load_sending_rules(path: str | Path) -> SendingRules:
    rules, errors = check_sending_file(path)
    if rules is None:
        raise SendingRulesError(errors)
    return rules


def default_sending_rules() -> SendingRules:
    """The live deployment's sending.yaml (compiler.live_folder), else NURTURE_SENDING_FILE, else
    ./journeys/sending.yaml; BUILTIN without one (each file loaded once per process)."""
    from compiler.live_folder import live

    folder = live()
    if folder is not None:
        return _cached(str(folder / FILE_NAME) if (folder / FILE_NAME).is_file() else "")
    configured = os.environ.get(FILE_ENV)
    return _cached(configured or (str(DEFAULT_PATH) if DEFAULT_PATH.is_file() else ""))


@lru_cache(maxsize=8)
def _cached(path: str) -> SendingRules:
    return load_sending_rules(path) if path else BUILTIN


def rules_if_present(path: Path) -> tuple[SendingRules | None, bool]:
    """(rules, False) for a good file, (None, True) for a broken one, (None, False) without one;
    cached on the file's size and modification time (every journey compile asks)."""
    try:
        stat = path.stat()
    except OSError:
        return None, False
    return _rules_at(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _rules_at(path: str, _mtime_ns: int, _size: int) -> tuple[SendingRules | None, bool]:
    rules, errors = check_sending_file(path)
    return rules, bool(errors)


CONFIG_VALIDATORS[FILE_NAME] = validate_with(SCHEMA_NAME, _build, EMPTY)
