"""`python cli.py serve [--host 127.0.0.1] [--port 8000]`: the tracking server (uvicorn).

Configured from the environment: NURTURE_DB_URL (store), NURTURE_SECRET_KEYS (link tokens),
NURTURE_API_TOKENS (events API bearer tokens), NURTURE_SMS_AUTH_TOKEN (Twilio signatures),
NURTURE_TRACKING_URL (the public URL, as in emails and as given to Twilio), TEMPORAL_ADDRESS...
ESP webhooks (tracking/esp_webhooks.py): NURTURE_POSTMARK_WEBHOOK_AUTH (user:password),
NURTURE_MAILGUN_SIGNING_KEY, NURTURE_SENDGRID_PUBLIC_KEY, NURTURE_SES_SNS_CERTS (a PEM file),
NURTURE_SES_TOPIC_ARNS; a provider without its key answers 401.

`--bounces HOST:PORT` also runs the bounce mailbox (devstack/bounce_listener.py): an SMTP
listener for the DSNs and complaints sent to the VERP envelope senders, in the same process.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the tracking server (opens, clicks, unsubscribes, SMS webhooks, events API)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--public-url", help="the URL people and Twilio reach this server at (default NURTURE_TRACKING_URL)")
    p.add_argument("--consent", help="pin a consent model file (default: the live deployment's consent.yaml, "
                   "else journeys/consent.yaml)")
    p.add_argument("--bounces", metavar="HOST:PORT",
                   help="also receive bounce and complaint mail over SMTP here (the MX of the bounce domain)")
    p.set_defaults(func=run)


def build_app(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The app as `serve` runs it (ConsentModelError / DeployError on bad configuration)."""
    import os

    from compiler.consent_model import load_consent_model
    from deploy.runner import open_store
    from devstack.stack import deployed_journeys
    from tracking.server import API_TOKENS_ENV, LazyClient, api_tokens_from_text, create_app
    from tracking.tokens import signer_from_env
    from worker import connect

    env = os.environ
    store = open_store()
    tokens = api_tokens_from_text(env.get(API_TOKENS_ENV, ""))
    if not tokens:
        print(f"warning: {API_TOKENS_ENV} is not set: the events API refuses every call")
    return create_app(
        store=store, signer=signer_from_env(), client_provider=LazyClient(connect), api_tokens=tokens,
        twilio_auth_token=env.get("NURTURE_SMS_AUTH_TOKEN", "dev-token"),
        public_url=args.public_url or env.get("NURTURE_TRACKING_URL", f"http://{args.host}:{args.port}"),
        consent_model=load_consent_model(args.consent) if args.consent else None,
        journeys_provider=lambda: deployed_journeys(store), search_attributes=True,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from compiler.consent_model import ConsentModelError
    from compiler.sending_model import SendingRulesError, default_sending_rules
    from deploy.load import DeployError
    from devstack.bounce_listener import parse_host_port

    try:
        bounces = parse_host_port(args.bounces) if args.bounces else None
        policy = default_sending_rules().bounces if bounces else None
        app = build_app(args)
    except (ConsentModelError, DeployError, SendingRulesError, ValueError) as exc:
        print(f"error: {str(exc).splitlines()[0]}")
        return 1
    print(f"tracking server on http://{args.host}:{args.port} (public URL {app.state.tracking.public_url})")
    if bounces is None:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", lifespan="off")
        return 0
    import asyncio

    try:
        asyncio.run(_serve_with_bounces(app, args, bounces, policy))
    except OSError as exc:
        print(f"error: {exc}")
        return 1
    return 0


async def _serve_with_bounces(app, args: argparse.Namespace, bounces: tuple[str, int], policy) -> None:  # type: ignore[no-untyped-def]
    """The tracking server and the bounce listener; the listener's reports are handled on this
    loop, with the app's store, signer and event path."""
    import asyncio

    import uvicorn

    from devstack.bounce_listener import BounceListener, mailbox_handle
    from marketing.bounces import event_publisher

    t = app.state.tracking
    publish = event_publisher(t.store, t.client_provider, t.journeys_provider, t.task_queue, t.search_attributes)
    handle = mailbox_handle(t.store, t.signer, publish, policy)
    with BounceListener(handle, host=bounces[0], port=bounces[1], loop=asyncio.get_running_loop()):
        print(f"bounce mailbox (SMTP) on {bounces[0]}:{bounces[1]}", flush=True)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info", lifespan="off"))
        await server.serve()
