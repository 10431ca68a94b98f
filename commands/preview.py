"""`python cli.py preview JOURNEY STEP --contact ID|JSON [--out FILE] [--open]`: the exact email
a step would send a contact (subject, html with CSS inlined, text, headers, tracked links, DKIM
signature when a key is configured), in the contact's locale, written as FILE.eml and FILE.html."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from commands.step_email import add_arguments

    p = subparsers.add_parser("preview", help="render the exact email a step sends a contact to .eml and .html")
    add_arguments(p, contact_required=True)
    p.add_argument("--out", help="file name without extension, or ending .eml/.html "
                                 "(default: preview-JOURNEY-STEP in the current folder)")
    p.add_argument("--open", action="store_true", help="open the .html in a web browser")
    p.set_defaults(func=run)


def out_paths(out: str | None, journey: str, step: str) -> tuple[Path, Path]:
    base = Path(out or f"preview-{Path(journey).stem}-{step}")
    if base.suffix in (".eml", ".html"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".eml"), base.with_name(base.name + ".html")


def run(args: argparse.Namespace) -> int:
    from activities.email_build import wire_bytes
    from commands.step_email import StepEmailError, build

    eml, html = out_paths(args.out, args.journey, args.step)
    with ExitStack() as resources:
        try:
            made = build(args, resources, run="preview")
        except StepEmailError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    message = made.built.message
    try:
        eml.write_bytes(wire_bytes(message))
        html.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    signed = "DKIM-signed" if "DKIM-Signature" in message else "not DKIM-signed (no NURTURE_DKIM_KEY_FILE)"
    print(f"wrote {eml} and {html}")
    print(f"  subject: {made.subject}")
    print(f"  locale: {made.locale or 'default'}; {len(made.built.links)} tracked link(s); {signed}")
    if args.open:
        import webbrowser

        webbrowser.open(html.resolve().as_uri())
    return 0
