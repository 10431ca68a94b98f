"""`python cli.py contacts import FILE.csv --source NAME ...`: bring contacts in from a CSV."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("contacts", help="import contacts from a CSV; export or erase one (GDPR)")
    sub = p.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    imp = sub.add_parser(
        "import", help="import contacts from a CSV file",
        description="Import a CSV: a bad value refuses that field (the rest of the row is imported), duplicates merge "
                    "by external id, email, then phone; refusals and conflicts go to the reject report. See "
                    "marketing/contact_import.py and import_merge.py for the merge and consent rules.",
    )
    imp.add_argument("file", help="the CSV file (UTF-8, header row)")
    imp.add_argument("--source", required=True, help="where the list comes from (crm, shop, events...)")
    imp.add_argument("--consent", action="append", default=[], metavar="CHANNEL:PURPOSE",
                     help="consent every row gave at the source, e.g. email:marketing (repeatable)")
    imp.add_argument("--wording-version", help="version of the consent text the contacts agreed to")
    imp.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                     help="map a column to a field (email, phone, tags, attributes.NAME, consent.email.marketing, skip...)")
    imp.add_argument("--merge-priority", default="", metavar="SOURCE,...",
                     help="sources in priority order; lower ones only fill blanks (e.g. crm,shop,events)")
    imp.add_argument("--default-region", metavar="CC", help="country for phone numbers without +, e.g. ES")
    imp.add_argument("--stage", help="lifecycle stage of new contacts (e.g. subscriber)")
    imp.add_argument("--reject-report", metavar="FILE",
                     help="write rejected rows, refused fields and conflicts here (CSV: row, column, action, reason)")
    imp.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
    imp.set_defaults(func=run_import)
    from commands.contacts_gdpr import add_gdpr_actions  # export, erase

    add_gdpr_actions(sub)


def _consents(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        channel, sep, purpose = item.partition(":")
        if not sep or not channel.strip() or not purpose.strip():
            raise ValueError(f"--consent {item!r}: expected CHANNEL:PURPOSE, e.g. email:marketing")
        out.append((channel.strip(), purpose.strip()))
    return out


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from marketing.contact_import import ImportError_, ImportOptions, import_csv
    from marketing.import_rows import parse_mapping
    from store import Store, StoreError

    try:
        options = ImportOptions(
            source=args.source.strip(), consents=_consents(args.consent), mapping=parse_mapping(args.map),
            merge_priority=[s.strip() for s in args.merge_priority.split(",") if s.strip()],
            default_region=args.default_region, wording_version=args.wording_version, stage=args.stage,
            reject_report=Path(args.reject_report) if args.reject_report else None,
        )
        if not options.source:
            raise ValueError("--source must not be empty")
        with Store.open(args.db) as store, Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=True, disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("import", total=None)
            summary = import_csv(store, args.file, options, progress=lambda done, total: bar.update(task, completed=done, total=total))
    except (ValueError, ImportError_, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary.line())
    if summary.rejects and options.reject_report:
        print(f"rejected rows: {options.reject_report}")
    elif summary.rejects:
        for row, column, action, reason in summary.rejects[:10]:
            print(f"  row {row}{f' ({column})' if column else ''}: {action}: {reason}")
        if len(summary.rejects) > 10:
            print(f"  ... {len(summary.rejects) - 10} more (use --reject-report FILE)")
    return 0
