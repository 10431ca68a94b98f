"""The email of one journey step for one contact, built by the send path's own functions
(activities.email.compose_step_email): shared by `cli.py preview` and `cli.py send-test`.

The contact is an id / email / external id in the store, or a JSON object (inline or a file, the
`simulate --contact` shape) created in a throwaway SQLite store. Nothing is recorded: no consent
decision, no ledger entry, no event; a contact without the consent the step needs is refused.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from commands.contact_arg import HELP as CONTACT_HELP


class StepEmailError(Exception):
    """A one-line reason the message cannot be made (the CLI prints it and exits 1)."""


@dataclass
class StepEmail:
    built: Any  # activities.email_build.BuiltEmail
    deps: Any  # activities.deps.Deps
    contact_id: int
    locale: str | None
    subject: str


def add_arguments(p: argparse.ArgumentParser, *, contact_required: bool) -> None:
    p.add_argument("journey", help="a journey file or a journey id in journeys/")
    p.add_argument("step", help="the id of a send_email step")
    p.add_argument("--contact", required=contact_required, metavar="ID|JSON",
                   help=f"{CONTACT_HELP}, or a JSON object / file like simulate's --contact "
                        '(e.g. \'{"email": "ana@example.com", "locale": "es", "consent": {"email": ["marketing"]}}\')')
    p.add_argument("--db", help="database URL for a contact id (default: NURTURE_DB_URL or ./.data/nurture.db)")


def _contact_spec(text: str) -> dict[str, Any] | None:
    """The JSON object `text` holds (inline or in a file), or None when it names a stored contact."""
    stripped = text.strip()
    if stripped.startswith("{"):
        source = stripped
    elif stripped.endswith(".json") or (Path(stripped).is_file() and not stripped.isdigit()):
        try:
            source = Path(stripped).read_text(encoding="utf-8")
        except OSError as exc:
            raise StepEmailError(f"--contact {stripped}: {exc.strerror}") from None
    else:
        return None
    try:
        spec = json.loads(source)
    except json.JSONDecodeError as exc:
        raise StepEmailError(f"--contact: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(spec, dict):
        raise StepEmailError("--contact: the JSON must be an object")
    return spec


def _step(journey: Any, step_id: str) -> Any:
    from compiler import ir
    from compiler.conditions import did_you_mean

    emails = [s.id for s in journey.steps if isinstance(s, ir.SendEmail)]
    step = next((s for s in journey.steps if s.id == step_id), None)
    if step is None:
        raise StepEmailError(f"{journey.id} has no step {step_id!r}{did_you_mean(step_id, emails)}; "
                             f"its email steps: {', '.join(emails) or 'none'}")
    if not isinstance(step, ir.SendEmail):
        raise StepEmailError(f"step {step_id!r} of {journey.id} sends no email (it is a {type(step).__name__}); "
                             f"its email steps: {', '.join(emails) or 'none'}")
    return step


def send_input(journey: Any, step: Any, contact_id: int, run: str) -> Any:
    """The activity input the workflow would give this step (workflows/steps/messaging.py)."""
    from activities.contracts import SendInput, StepRef
    from workflows.steps.messaging import _templates

    ref = StepRef(journey_id=journey.id, version=journey.version, workflow_id=f"{run}-{journey.id}", run_id=run,
                  step_id=step.id, visit=1, contact_id=contact_id, at=datetime.now(timezone.utc).isoformat())
    return SendInput(ref=ref, template_name=step.template,
                     purpose=step.purpose or journey.policy.purpose_for("email") or "marketing",
                     templates=_templates(journey.email_templates, step.template),
                     parts=journey.parts_for(step.template), sender=journey.sender or "",
                     reply_to=journey.reply_to or "")


def build(args: argparse.Namespace, resources: ExitStack, *, run: str, to: str | None = None,
          **overrides: Any) -> StepEmail:
    """Compile the journey, find the step and the contact, check consent, build the message."""
    from activities.consent import _decide  # the decision without its record: nothing is sent for real
    from activities.deps import ConfigurationError, Deps
    from activities.email import compose_step_email, message_context
    from activities.email_build import BuildError
    from activities.render import RenderError
    from commands.contact_arg import contact_id
    from commands.journey_arg import load_journey
    from engine.simulation import SimulationError, contact_from_spec
    from store import Store, StoreError

    try:
        journey = load_journey(args.journey)
    except ValueError as exc:
        raise StepEmailError(str(exc)) from None
    step = _step(journey, args.step)
    spec = _contact_spec(args.contact) if args.contact else {"email": to, "consent": {"email": ["marketing"]}}
    try:
        if spec is not None:
            folder = resources.enter_context(tempfile.TemporaryDirectory(prefix="nurture-preview-"))
            store = resources.enter_context(Store.open(f"sqlite:///{Path(folder) / 'preview.db'}"))
            cid = contact_from_spec(store, spec)
        else:
            store = resources.enter_context(Store.open(args.db))
            cid = contact_id(store, args.contact)
        deps = Deps.from_env(store=store)
    except (StoreError, SimulationError, ConfigurationError) as exc:
        raise StepEmailError(str(exc)) from None
    contact = store.get_contact(cid)
    address = to or contact.email
    if not contact.email:
        raise StepEmailError(f"contact {cid} has no email address")
    inp = send_input(journey, step, cid, run)
    decision = _decide(store, cid, "email", inp.purpose, contact.email, "email" in deps.require_confirmed)
    if not decision.granted:
        raise StepEmailError(f"contact {cid} cannot get step {step.id!r}: {decision.basis} "
                             f"({decision.reason}; the journey would skip this send)")
    try:
        built = compose_step_email(deps, inp, message_context(deps, inp), to=address, locale=contact.locale,
                                   **overrides)
    except (RenderError, BuildError) as exc:
        raise StepEmailError(f"{journey.id} step {step.id}: {exc}") from None
    return StepEmail(built=built, deps=deps, contact_id=cid, locale=contact.locale,
                     subject=str(built.message["Subject"]))
