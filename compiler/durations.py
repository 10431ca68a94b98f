"""Durations (`30m`, `1w2d`, `P3DT4H`), clock times (`"21:00"`) and weekday names."""

from __future__ import annotations

import re

from compiler.ir import WEEKDAYS

_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# The same grammars as the schema's patterns (schemas/journey.schema.json).
SHORT_RE = re.compile(r"^([+-]?)((?:\d+[wdhms])+)$")
ISO_RE = re.compile(r"^([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
CLOCK_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> int:
    """Seconds in `text`; ValueError when it is not a duration (months and years never are)."""
    m = SHORT_RE.match(text)
    if m:
        total = sum(int(n) * _UNIT_S[u] for n, u in re.findall(r"(\d+)([wdhms])", m.group(2)))
        return -total if m.group(1) == "-" else total
    m = ISO_RE.match(text)
    if m and text.rstrip("T") == text and any(m.groups()[1:]):
        w, d, h, mi, s = (int(g or 0) for g in m.groups()[1:])
        total = w * _UNIT_S["w"] + d * 86400 + h * 3600 + mi * 60 + s
        return -total if m.group(1) == "-" else total
    raise ValueError(f'"{text}" is not a duration (e.g. 30m, 12h, 3d, 1w2d, P3DT4H; no months or years)')


def parse_clock(text: str) -> int:
    """Minutes after midnight of "HH:MM"."""
    m = CLOCK_RE.match(text)
    if not m:
        raise ValueError(f'"{text}" is not a clock time "HH:MM"')
    return int(m.group(1)) * 60 + int(m.group(2))


def weekday(name: str) -> int:
    """0 for mon .. 6 for sun."""
    return WEEKDAYS.index(name)
