"""`python cli.py report [JOURNEY] [--since DATE] [--format table|json|html] [-o FILE]`:
per journey and per step: entered, sent, skipped (why), delivered, opened, clicked (human /
bot), bounced, unsubscribed, converted, rates, split variants and objectives (met, not met, no
data yet); bounce and complaint rates per journey and step (marketing/deliverability.py), with a
warning above 0.1% complaints and an alert at 0.3%. `--format html` is one self-contained page to
forward (marketing/report_html.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from commands.segments import add_db, with_store


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="journey KPIs per step, variants and objectives")
    p.add_argument("journey", nargs="?", help="a journey id in journeys/ (default: all)")
    p.add_argument("--since", metavar="DATE", help="only what happened from DATE (YYYY-MM-DD or ISO 8601; UTC if no zone)")
    p.add_argument("--format", choices=("table", "json", "html"), default="table",
                   help="html: one self-contained page (summary, a section per journey with its graph)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of the terminal")
    p.add_argument("--journeys", default="journeys", metavar="DIR", help="the journeys folder (default: journeys)")
    add_db(p)
    p.set_defaults(func=run)


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: expected a date like 2026-05-01 or 2026-05-01T09:00+02:00") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def run(args: argparse.Namespace) -> int:
    from compiler.compile import JourneyLoadError, load_journeys
    from marketing.deliverability import deliverability_lines
    from marketing.report import journey_report
    from marketing.report_format import to_html, to_table

    def body(store: Any) -> int:
        since = parse_since(args.since)
        journeys = load_journeys(args.journeys)
        if args.journey and args.journey not in journeys:
            raise LookupError(f"no journey {args.journey!r} in {args.journeys} (known: {', '.join(sorted(journeys))})")
        chosen = [journeys[args.journey]] if args.journey else [journeys[k] for k in sorted(journeys)]
        pairs = [(j, journey_report(store, j, since=since)) for j in chosen]
        if args.format == "json":
            text = json.dumps([r for _, r in pairs], indent=2) + "\n"  # with r["deliverability"]
        elif args.format == "html":
            text = to_html(pairs)
        else:
            text = "\n\n".join("\n".join([to_table(r), *deliverability_lines(r["deliverability"])]) for _, r in pairs) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0

    return with_store(args, body, (JourneyLoadError,))
