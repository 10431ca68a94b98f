"""`python cli.py dev [--demo]`: the whole product locally, in one command; Ctrl-C stops it."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("dev", help="run Temporal (with UI), SMTP/SMS sinks, tracking and a worker locally")
    p.add_argument("--demo", action="store_true", help="import sample contacts and enrol them in example journeys")
    p.add_argument("--data-dir", default=".data", help="where state is kept (default .data)")
    p.add_argument("--journeys", default="journeys", help="journeys to apply at start (default journeys/)")
    p.add_argument("--port", type=int, default=7233, help="Temporal gRPC port (default 7233)")
    p.add_argument("--ui-port", type=int, default=8233, help="Temporal web UI port (default 8233)")
    p.add_argument("--smtp-port", type=int, default=1025, help="SMTP sink port (default 1025)")
    p.add_argument("--sms-port", type=int, default=8025, help="SMS API port (default 8025)")
    p.add_argument("--tracking-port", type=int, default=8000, help="tracking server port (default 8000)")
    p.add_argument("--bounce-port", type=int, default=2525, help="bounce mailbox SMTP port (default 2525)")
    p.set_defaults(func=run)


async def serve(config) -> int:  # type: ignore[no-untyped-def]
    import asyncio
    import signal

    from devstack.stack import DevStack

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("starting the dev stack...", flush=True)
    async with DevStack(config) as stack:
        print("\n".join(stack.report_lines))
        for name, url in stack.urls().items():
            print(f"{name + ':':<15} {url}")
        print(f"{'Journeys UI:':<15} {stack.server.ui_url}/namespaces/default/workflows?query=Journey%3D%22welcome-series%22")
        print("ready; press Ctrl-C to stop", flush=True)
        await stop.wait()
        print("stopping...", flush=True)
    print("stopped", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from deploy.load import DeployError
    from deploy.runner import fail
    from devstack.ports import PortInUse
    from devstack.stack import DevConfig
    from store import StoreError

    config = DevConfig(data_dir=Path(args.data_dir), port=args.port, ui_port=args.ui_port, smtp_port=args.smtp_port,
                       sms_port=args.sms_port, tracking_port=args.tracking_port, bounce_port=args.bounce_port,
                       journeys=Path(args.journeys),
                       demo=args.demo)
    try:
        return asyncio.run(serve(config))
    except (PortInUse, DeployError, StoreError, RuntimeError, OSError, ValueError) as exc:  # ValueError: a bad ESP key
        return fail(str(exc))
