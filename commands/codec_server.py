"""`python cli.py codec-server [--port 8081]`: decode (and encode) payloads for the Temporal UI
when the payload codec is on (NURTURE_CODEC_KEY, NURTURE_DB_URL). Point the UI at it:
`temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8081`."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("codec-server", help="serve the payload codec to the Temporal UI (/encode, /decode)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--ui-origin", action="append", metavar="URL",
                   help="origin of the Temporal UI allowed by CORS (repeatable; default: http://localhost:8233 and http://127.0.0.1:8233)")
    p.add_argument("--db", help="database URL (default: NURTURE_DB_URL or ./.data/nurture.db)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from codec.keys import CodecKeyError, KeyRing
    from codec.server import UI_ORIGINS, create_app
    from store import Store, StoreError

    try:
        store = Store.open(args.db)
        keys = KeyRing.from_env(store)
    except (CodecKeyError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    origins = tuple(args.ui_origin or UI_ORIGINS)
    print(f"codec server on http://{args.host}:{args.port} (CORS: {', '.join(origins)})", flush=True)
    try:
        uvicorn.run(create_app(keys, origins), host=args.host, port=args.port, log_level="warning")
    finally:
        store.close()
    return 0
