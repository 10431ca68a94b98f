"""`python cli.py scores rebuild|decay|show`: lead scores from the event log (journeys/scoring.yaml)."""

from __future__ import annotations

import argparse
import sys

from commands.contact_arg import HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("scores", help="lead scores: rebuild from the event log, apply decay, show")
    sub = p.add_subparsers(dest="scores_command", required=True, metavar="ACTION")
    for name, text in (
        ("rebuild", "recompute scores from the event log with the current scoring.yaml (what live scoring gives)"),
        ("decay", "apply the decay periods that have ended (decay is otherwise applied before a contact's next event)"),
        ("show", "a contact's scores, temperatures and score history"),
    ):
        q = sub.add_parser(name, help=text, description=text)
        q.add_argument("--contact", required=name == "show", metavar="CONTACT",
                       help=f"one contact: {HELP} (default: all)")
        q.add_argument("--scoring", default=None, metavar="FILE", help="default: journeys/scoring.yaml")
        q.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
        q.set_defaults(func=run, action=name)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone
    from pathlib import Path

    from commands.contact_arg import contact_id
    from compiler.config_file import ConfigError
    from marketing.model import model_path  # the live deployment's scoring.yaml, else journeys/
    from marketing.scoring import decay, rebuild
    from marketing.scoring_model import FILE_NAME, load_scoring
    from store import Store, StoreError

    try:
        with Store.open(args.db) as store:
            model = load_scoring(Path(args.scoring) if args.scoring else model_path(store, FILE_NAME))
            ids = [contact_id(store, args.contact)] if args.contact is not None else store.contact_ids()
            if args.action == "show":
                scores = store.get_scores(ids[0])
                for level, points in scores.items():
                    print(f"{level:30} {points:6}  {model.temperature(level, points)}")
                for h in store.score_history(ids[0]):
                    print(f"  {h.at:%Y-%m-%d %H:%M}  {h.level:20} {h.delta:+5} = {h.value:5}  {h.reason}")
                return 0
            now = datetime.now(timezone.utc)
            changed = sum(bool(rebuild(store, model, cid) if args.action == "rebuild" else decay(store, model, cid, now))
                          for cid in ids)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.action}: {len(ids)} contact(s), {changed} with score changes")
    return 0
