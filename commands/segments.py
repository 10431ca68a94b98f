"""`python cli.py segments [list]` and `segments show ID [--limit N]`: the dynamic lists of
journeys/segments.yaml and their members now (evaluated in SQL on the contact store)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable


def add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="the contact store (default: $NURTURE_DB_URL, else .data/nurture.db)")


def with_store(args: argparse.Namespace, body: Callable[[Any], int], errors: tuple[type[Exception], ...] = ()) -> int:
    """Open the store, run `body(store)`, and turn the expected errors into one clear line."""
    from compiler.config_file import ConfigError
    from store import Store, StoreError

    try:
        with Store.open(args.db) as store:
            return body(store)
    except ConfigError as exc:
        print("\n".join(str(d) for d in exc.diagnostics), file=sys.stderr)
    except BrokenPipeError:  # `segments | head`: cli.main ends quietly
        raise
    except (StoreError, LookupError, ValueError, OSError, *errors) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("segments", help="list segments, or show a segment's members",
                              description="Without an action: the same as `segments list`.")
    p.set_defaults(func=run_list, file=None, db=None)  # bare `segments` lists them
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="the segments and their member counts")
    add_db(ls)
    ls.add_argument("--file", help="the segments file (default: journeys/segments.yaml)")
    ls.set_defaults(func=run_list)
    show = sub.add_parser("show", help="a segment's members: id, external id, email")
    show.add_argument("segment", metavar="ID")
    show.add_argument("--limit", type=int, default=50, help="at most N members (default 50; 0 = all)")
    show.add_argument("--file", help="the segments file (default: journeys/segments.yaml)")
    add_db(show)
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    from marketing.model import model_path  # the live deployment's segments.yaml, else journeys/
    from marketing.segments import load_segments, segment_members

    def body(store: Any) -> int:
        segments = load_segments(args.file or model_path(store, "segments.yaml", "NURTURE_SEGMENTS"))
        for seg in segments.values():
            print(f"{seg.id:<28} {len(segment_members(store, seg.id, segments=segments)):>8}  {seg.title}")
        return 0

    return with_store(args, body)


def run_show(args: argparse.Namespace) -> int:
    from marketing.model import model_path  # the live deployment's segments.yaml, else journeys/
    from marketing.segments import load_segments, segment_members

    if args.limit < 0:
        print("error: --limit must be 0 or more", file=sys.stderr)
        return 2

    def body(store: Any) -> int:
        segments = load_segments(args.file or model_path(store, "segments.yaml", "NURTURE_SEGMENTS"))
        members = segment_members(store, args.segment, segments=segments)
        shown = members[: args.limit] if args.limit else members
        print(f"{'id':>8}  {'external id':<20}  email")
        for cid in shown:
            contact = store.get_contact(cid)
            print(f"{cid:>8}  {contact.external_id or '-':<20}  {contact.email or '-'}")
        more = f" (showing {len(shown)})" if len(shown) < len(members) else ""
        print(f"{len(members)} member(s) in {args.segment}{more}")
        return 0

    return with_store(args, body)
