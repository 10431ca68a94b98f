"""`python cli.py forms snippet NAME [--url URL] [--lang es]`: print the HTML of a hosted subscribe
form (journeys/forms.yaml) to embed in a site. It posts to the tracking server's /f/NAME; the
site's origin must be in the form's `allowed_origins` (an embedded form carries no CSRF token)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("forms", help="hosted subscribe forms (journeys/forms.yaml)")
    sub = p.add_subparsers(dest="forms_command", required=True, metavar="SUBCOMMAND")
    s = sub.add_parser("snippet", help="print the HTML to embed form NAME in a website")
    s.add_argument("name", metavar="NAME", help="a form id of forms.yaml")
    s.add_argument("--url", help="the tracking server's public URL (default NURTURE_TRACKING_URL, else http://127.0.0.1:8000)")
    s.add_argument("--lang", help="the language of the texts (a locale of the form's texts; default the form's)")
    s.add_argument("--forms", default="journeys/forms.yaml", help="the forms file (default journeys/forms.yaml)")
    s.set_defaults(func=run_snippet)


def snippet(forms_file: str, consent_file: str, name: str, url: str, lang: str | None) -> str:
    """The embeddable `<form>`; ValueError with a one-line reason."""
    from compiler.conditions import did_you_mean
    from compiler.config_file import ConfigError
    from compiler.consent_model import load_consent_model
    from compiler.forms_model import load_forms
    from tracking.form_html import form_html

    try:
        forms = load_forms(forms_file)
        model = load_consent_model(consent_file)
    except ConfigError as exc:
        first = exc.diagnostics[0]
        more = f" (and {len(exc.diagnostics) - 1} more: run cli.py validate)" if len(exc.diagnostics) > 1 else ""
        raise ValueError(f"{first}{more}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {exc.filename}: {exc.strerror}") from None
    form = forms.get(name)
    if form is None:
        raise ValueError(f'no form "{name}" in {forms_file}{did_you_mean(name, list(forms.forms))}')
    locale = form.locale if lang is None else form.pick_locale([lang])
    if lang is not None and locale != lang.lower():
        raise ValueError(f'form "{name}" has no texts in "{lang}" (it has {", ".join(form.texts)})')
    return form_html(form, locale, model.localized(locale), f"{url.rstrip('/')}/f/{name}")


def run_snippet(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from deploy.runner import fail

    url = args.url or os.environ.get("NURTURE_TRACKING_URL") or "http://127.0.0.1:8000"
    if not url.startswith(("https://", "http://")):
        return fail(f"--url must start with https:// or http://, got {url!r}")
    try:
        print(snippet(args.forms, str(Path(args.forms).parent / "consent.yaml"), args.name, url, args.lang))
    except ValueError as exc:
        return fail(str(exc))
    return 0
