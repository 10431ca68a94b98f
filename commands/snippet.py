"""`python cli.py snippet [--url URL] [--write-key KEY] [--purpose profiling]`: print the `<script>`
tag a website pastes before `</head>` to send page views (after consent) to the tracking server."""

from __future__ import annotations

import argparse

WRITE_KEYS_ENV = "NURTURE_WRITE_KEYS"  # tracking.segment_api's (not imported here: `--help` stays fast)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("snippet", help="print the <script> tag that sends page views (after consent)")
    p.add_argument("--url", help="the tracking server's public URL (default NURTURE_TRACKING_URL, else http://127.0.0.1:8000)")
    p.add_argument("--write-key", help=f"the public write key (default the first of {WRITE_KEYS_ENV})")
    p.add_argument("--purpose", default="profiling",
                   help="the consent purpose (journeys/consent.yaml) the site's banner must grant first (default profiling)")
    p.add_argument("--consent", default="journeys/consent.yaml", help="the consent model (default journeys/consent.yaml)")
    p.set_defaults(func=run)


def first_write_key(text: str) -> str | None:
    """The first key of a comma-separated NURTURE_WRITE_KEYS (the one new snippets carry)."""
    return next((k.strip() for k in text.split(",") if k.strip()), None)


def check_purpose(consent_file: str, purpose: str) -> str | None:
    """A one-line reason why `purpose` cannot gate the snippet, or None."""
    from compiler.conditions import did_you_mean
    from compiler.consent_model import ConsentModelError, load_consent_model

    try:
        model = load_consent_model(consent_file)
    except (ConsentModelError, OSError) as exc:
        return f"{consent_file}: cannot read the consent model: {str(exc).splitlines()[0]}"
    if model.purpose(purpose) is None:
        names = [p.name for p in model.purposes]
        return f'purpose "{purpose}" is not declared in {consent_file}{did_you_mean(purpose, names)}'
    return None


def run(args: argparse.Namespace) -> int:
    import os

    from deploy.runner import fail
    from tracking.snippet import script_tag

    url = args.url or os.environ.get("NURTURE_TRACKING_URL") or "http://127.0.0.1:8000"
    if not url.startswith(("https://", "http://")):
        return fail(f"--url must start with https:// or http://, got {url!r}")
    key = args.write_key or first_write_key(os.environ.get(WRITE_KEYS_ENV, ""))
    if not key:
        return fail(f"no write key: set {WRITE_KEYS_ENV} (the keys the tracking server accepts) or pass --write-key")
    problem = check_purpose(args.consent, args.purpose)
    if problem:
        return fail(problem)
    print(script_tag(url, key, args.purpose))
    return 0
