"""`explain CONTACT --message ID`: one message, the decision chain that led to it (its run's entry,
branches, postponements, consent), its delivery result and opens/clicks, human vs bot."""

from __future__ import annotations

from typing import Any

from compiler.ir import pick_locale
from explain.model import Explanation, Item
from explain.store_side import Versions
from store import StoreError

CHAIN_KINDS = ("entered", "branch", "wait", "signal", "postponed", "skipped", "consent")


def normalise(message_id: str) -> str:
    """Message-IDs are stored with their angle brackets; accept them with or without."""
    text = message_id.strip()
    return text if text.startswith("<") else f"<{text}>"


def narrow_to_message(store: Any, ex: Explanation, contact: Any, versions: Versions, message_id: str) -> None:
    wanted = normalise(message_id)
    send = next((i for i in ex.items if i.kind in ("sent", "failed") and i.message_id == wanted), None)
    if send is None:
        raise StoreError(f"contact {ex.contact_id} has no message {wanted}")
    chain = [i for i in ex.items if _about(i, wanted, send) or _leads_to(i, send)]
    ex.items = chain
    ex.runs = [r for r in ex.runs if r.workflow_id == send.workflow_id]
    ex.not_in = []
    engagement = [i for i in chain if i.kind == "engagement"]

    def count(kind: str, bot: bool) -> int:
        return sum(1 for i in engagement if i.data.get("type") == f"email.{kind}" and i.data.get("likely_bot") == bot)

    run = next((r for r in ex.runs), None)
    template = send.data.get("template")
    subject, variant = _subject(store, contact, versions, send, run.version if run else None)
    bounced = [i for i in chain if i.data.get("type") in ("email.bounced", "email.failed", "sms.failed")]
    delivery = send.data.get("status", "?")
    if bounced:
        delivery = f"{delivery}, then {bounced[-1].text}"
    ex.message = {
        "message_id": wanted, "journey": send.journey, "step": send.step, "channel": send.data.get("channel"),
        "template": template, "variant": variant, "subject": subject, "subject_exact": False,
        "delivery": delivery, "sent_at": send.at.isoformat(), "consent": send.data.get("consent"),
        "opens": {"human": count("opened", False), "bot": count("opened", True)},
        "clicks": {"human": count("clicked", False), "bot": count("clicked", True)},
    }


def _about(item: Item, message_id: str, send: Item) -> bool:
    """An item about the message, in its own run (other runs also hear of its clicks)."""
    return item.message_id == message_id and item.workflow_id in (None, send.workflow_id)


def _leads_to(item: Item, send: Item) -> bool:
    """An earlier decision of the same run: its entry, branches, waits; postponements and
    refusals of the same step."""
    if item.workflow_id != send.workflow_id or item.at > send.at or item.kind not in CHAIN_KINDS:
        return False
    if item.kind in ("postponed", "skipped", "consent"):
        return item.step == send.step
    return True


def _subject(store: Any, contact: Any, versions: Versions, send: Item, version: str | None) -> tuple[str | None, str | None]:
    """The subject as its version's template renders it for the contact now (the subject itself
    is not stored: it may hold personal data), and the locale variant used."""
    from activities.render import RenderError, render_text

    journey = versions.get(send.journey or "", version)
    name = send.data.get("template")
    if journey is None or not name or send.data.get("channel") != "email":
        return None, None
    table = dict(journey.email_templates)
    try:
        template = pick_locale(table, name, contact.locale)
    except KeyError:
        return None, None
    variant = next((key for key, value in table.items() if value is template), name)
    try:
        context = dict(store.template_context(contact.id))
        context["journey"] = {"id": journey.id, "title": getattr(journey, "title", "")}
        context["step"] = {"id": send.step}
        subject = " ".join(render_text(template.subject, context, part="subject",
                                       parts=journey.parts_for(name)).split())
    except RenderError as exc:
        subject = f"(does not render now: {exc})"
    return subject, variant
