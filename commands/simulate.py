"""`python cli.py simulate JOURNEY --contact FILE|JSON [--event TYPE@STEP+DELAY ...] [--horizon 400d] [--json]`"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="run a journey for one contact on the time-skipping server and print its timeline",
        description="Runs the real workflow and activities on Temporal's time-skipping test server, against a "
        "throwaway store, a local SMTP sink and SMS API, and prints the timeline in simulated time.",
    )
    p.add_argument("journey", help="a journey file or a journey id in journeys/")
    p.add_argument("--contact", required=True, help="a JSON object, or a file holding one")
    p.add_argument(
        "--event", action="append", default=[], metavar="TYPE[@STEP][+DELAY]",
        help="e.g. email.clicked@welcome+1h (1h after the welcome email was sent) or purchase.completed+2d",
    )
    p.add_argument("--horizon", default="400d", metavar="DURATION",
                   help="stop a run still waiting this long after its start (default 400d; e.g. 90d, 2y)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


_YEARS = re.compile(r"^(?P<years>\d+)y(?P<rest>.*)$")


def parse_horizon(text: str) -> timedelta:
    """A duration as journeys write them (400d, 12w), or years counted as 365 days (2y, 1y30d)."""
    from compiler.durations import parse_duration

    m = _YEARS.match(text.strip())
    try:
        seconds = int(m["years"]) * 365 * 86400 + (parse_duration(m["rest"]) if m and m["rest"] else 0) if m \
            else parse_duration(text.strip())
    except ValueError:
        raise ValueError(f"--horizon: {text!r} is not a duration (e.g. 90d, 400d, 2y)") from None
    if seconds <= 0:
        raise ValueError(f"--horizon: {text!r} must be longer than 0")
    return timedelta(seconds=seconds)


def load_contact(value: str) -> dict[str, Any]:
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise ValueError(f"--contact: {value!r} is neither a JSON object nor a file")
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--contact: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("--contact: expected a JSON object")
    return data


def run(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from commands.journey_arg import load_journey
    from engine.simulation import SimEvent, SimulationError

    try:
        journey = load_journey(args.journey)
        contact = load_contact(args.contact)
        events = [SimEvent.parse(e) for e in args.event]
        horizon = parse_horizon(args.horizon)
    except (ValueError, SimulationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        out = asyncio.run(_simulate(journey, contact, events, horizon))
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(_as_json(journey, out, elapsed), indent=2))
    else:
        _print_timeline(journey, out, elapsed)
    return 0


async def _simulate(journey, contact, events, horizon: timedelta):
    from engine.simulation import Simulation

    async with Simulation(strict_history=False) as sim:
        out = await sim.run(journey, contact, events, horizon=horizon)
    for finding in sim.history_findings:  # a product bug: personal data reached Temporal
        print(f"warning: {finding}", file=sys.stderr)
    return out


def _describe(entry) -> str:
    d = entry.detail
    if entry.subject:
        return f'"{entry.subject}"'
    parts = []
    for key in ("case", "next", "event", "variant", "reason", "until"):
        if key in d:
            parts.append(f"{key} {d[key]}" if key != "next" else f"-> {d[key]}")
    return " ".join(parts)


def _print_timeline(journey, out, elapsed: float) -> None:
    from engine.simulation import format_offset

    print(f"journey {journey.id} @ {journey.version}")
    for entry in out.timeline:
        print(f"  {format_offset(entry.at_s):>11}  {entry.step:<22} {entry.type:<10} {entry.outcome:<10} {_describe(entry)}")
    r = out.result
    span = out.timeline[-1].at_s if out.timeline else 0
    outcome = out.stopped.describe() if out.stopped is not None else f"{r.outcome} ({r.reason})"
    print(
        f"outcome: {outcome}; {r.steps} step(s), {len(out.emails)} email(s), {len(out.sms)} SMS; "
        f"{format_offset(span)} simulated in {elapsed:.2f}s"
    )
    days = out.stopped.needed_days() if out.stopped is not None else None
    if days:
        print(f"note: to see what follows, simulate with --horizon {days}d")
    for ev in out.undelivered_events:
        print(f"note: event {ev.type}@{ev.step} never became due (its step sent nothing)")


def _as_json(journey, out, elapsed: float) -> dict[str, Any]:
    return {
        "journey": journey.id,
        "version": journey.version,
        "outcome": out.result.outcome,
        "reason": out.result.reason,
        "steps": out.result.steps,
        "stopped": None if out.stopped is None else {**vars(out.stopped), "message": out.stopped.describe()},
        "timeline": [vars(e) for e in out.timeline],
        "emails": [{"subject": str(m["Subject"]), "message_id": str(m["Message-ID"])} for m in out.emails],
        "sms": [{"body": m.get("body"), "to": m.get("to")} for m in out.sms],
        "undelivered_events": [vars(e) for e in out.undelivered_events],
        "elapsed_s": round(elapsed, 3),
    }
