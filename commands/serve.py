"""`python cli.py serve [--host 127.0.0.1] [--port 8000]`: the tracking server (uvicorn).

Configured from the environment: NURTURE_DB_URL (store), NURTURE_SECRET_KEYS (link tokens),
NURTURE_API_TOKENS (events API bearer tokens), NURTURE_SMS_AUTH_TOKEN (Twilio signatures),
NURTURE_TRACKING_URL (the public URL, as in emails and as given to Twilio), TEMPORAL_ADDRESS...
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the tracking server (opens, clicks, unsubscribes, SMS webhooks, events API)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--public-url", help="the URL people and Twilio reach this server at (default NURTURE_TRACKING_URL)")
    p.add_argument("--consent", default="journeys/consent.yaml", help="the consent model (default journeys/consent.yaml)")
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
        consent_model=load_consent_model(args.consent),
        journeys_provider=lambda: deployed_journeys(store), search_attributes=True,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from compiler.consent_model import ConsentModelError
    from deploy.load import DeployError

    try:
        app = build_app(args)
    except (ConsentModelError, DeployError) as exc:
        print(f"error: {exc}")
        return 1
    print(f"tracking server on http://{args.host}:{args.port} (public URL {app.state.tracking.public_url})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", lifespan="off")
    return 0
