"""`python cli.py analyze frequency FIELD` and `analyze crosstab FIELD FIELD`: frequency tables
and cross tables of the contact base (FIELD: stage, temperature, source, tag:<prefix>,
attributes.<name>), with counts and percentages."""

from __future__ import annotations

import argparse
import json
from typing import Any

from commands.segments import add_db, with_store


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("analyze", help="frequency tables and cross tables of the contacts")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = sub.add_parser("frequency", help="how many contacts have each value of FIELD")
    f.add_argument("field", metavar="FIELD", help="stage, temperature, source, tag:<prefix> or attributes.<name>")
    x = sub.add_parser("crosstab", help="contacts counted by the values of two fields")
    x.add_argument("row", metavar="FIELD")
    x.add_argument("col", metavar="FIELD")
    for q in (f, x):
        q.add_argument("--json", action="store_true", help="machine-readable output")
        add_db(q)
    f.set_defaults(func=run_frequency)
    x.set_defaults(func=run_crosstab)


def run_frequency(args: argparse.Namespace) -> int:
    from marketing.analyze import frequency

    def body(store: Any) -> int:
        table = frequency(store, args.field)
        if args.json:
            print(json.dumps(table, indent=2))
            return 0
        width = max([len(args.field)] + [len(r["value"]) for r in table["rows"]])
        print(f"{args.field:<{width}}  {'count':>8}  {'%':>6}")
        for r in table["rows"]:
            print(f"{r['value']:<{width}}  {r['count']:>8}  {r['percent']:>5.1f}%")
        print(f"{'contacts':<{width}}  {table['total']:>8}")
        return 0

    return with_store(args, body)


def run_crosstab(args: argparse.Namespace) -> int:
    from marketing.analyze import crosstab

    def body(store: Any) -> int:
        t = crosstab(store, args.row, args.col)
        if args.json:
            print(json.dumps(t, indent=2))
            return 0
        corner = f"{args.row} / {args.col}"
        first = max([len(corner)] + [len(r) for r in t["rows"]] + [5])
        widths = {col: max(len(col), 12) for col in t["cols"]}
        print(f"{corner:<{first}}  " + "  ".join(f"{c:>{widths[c]}}" for c in t["cols"]) + f"  {'total':>8}")
        for r in t["rows"]:
            total = t["row_totals"][r]
            cells = [f"{t['counts'][r][c]} ({100 * t['counts'][r][c] / total:.0f}%)" for c in t["cols"]]
            print(f"{r:<{first}}  " + "  ".join(f"{v:>{widths[c]}}" for v, c in zip(cells, t["cols"])) + f"  {total:>8}")
        print(f"{'total':<{first}}  " + "  ".join(f"{t['col_totals'][c]:>{widths[c]}}" for c in t["cols"])
              + f"  {sum(t['row_totals'].values()):>8}")
        print("(row percentages)")
        return 0

    return with_store(args, body)
