"""The rule actions that leave the process: enrol (Temporal), notify (SMTP), webhook (HTTP).

Job: carrying out one such action for a fired rule. The bottom of the rules modules: imports
only marketing.rules_model of them (marketing.rules -> rules_actions -> here).

Each returns "" when done, or a reason code recorded as a `rule.failed` event. Notify and
webhook run the journey activities' own functions (activities.outbound) with a StepRef whose
key is unique per rule, event and action, so the ledger keeps them exactly-once.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from activities.contracts import NotifyInput, StepRef, WebhookInput
from compiler.ir import Journey
from compiler.templates import collect_parts, email_template, find_template
from marketing.rules_model import RULES_JOURNEY, Action, Rule
from workflows.run_types import TASK_QUEUE

# engine.enrol (Temporal client) and activities.outbound (httpx, SMTP) are imported where used:
# `cli.py validate` imports this module through marketing.rules and needs neither.


def _ref(rule: Rule, action: Action, contact_id: int, context: Any) -> StepRef:
    return StepRef(journey_id=RULES_JOURNEY, version="-", workflow_id=f"rule:{rule.id}",
                   run_id=f"event:{context.event_id}", step_id=rule.id, visit=action.index, contact_id=contact_id)


def _journey(store: Any, journey_id: str, context: Any) -> Journey | None:
    """The journey as given to publish, else its deployed active version."""
    if context.journeys and journey_id in context.journeys:
        return context.journeys[journey_id]
    state = store.get_journey_state(journey_id)
    ir = store.get_journey_version(journey_id, state.active_version) if state and state.active_version else None
    return Journey.from_dict(ir) if ir else None


async def enrol_action(hook: Any, rule: Rule, action: Action, client: Any, store: Any, contact_id: int, context: Any) -> str:
    from engine.enrol import enrol

    journey = _journey(store, action.args, context)
    if journey is None:
        return "journey_not_deployed"
    result = await enrol(client, store, journey, contact_id, task_queue=context.task_queue or TASK_QUEUE,
                         search_attributes=context.search_attributes)
    return "" if result.status in ("started", "already_running") else f"enrol_{result.status}:{result.reason}"


def _templates(folder: Any, name: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The notify template's variants and the shared parts (layouts) they use."""
    found = find_template(folder / "templates", name, ("subject.txt", "txt"), ("html",))
    pieces = collect_parts(folder / "templates", [f for parts in found.parts.values() for f in parts.values()])
    templates = {key: dict(vars(email_template(parts))) for key, parts in found.parts.items()}
    return templates, {part: f.text for part, f in pieces.files.items()}


async def notify_action(hook: Any, rule: Rule, action: Action, client: Any, store: Any, contact_id: int, context: Any) -> str:
    from activities.outbound import notify

    templates, parts = _templates(hook.rules.folder, action.args["template"])
    if not templates:
        return "template_missing"
    inp = NotifyInput(ref=_ref(rule, action, contact_id, context), to=action.args["to"],
                      template_name=action.args["template"], templates=templates, parts=parts)
    result = await notify(context.deps or hook.deps(store), inp)
    return "" if result.status == "sent" else result.reason or result.status


async def webhook_action(hook: Any, rule: Rule, action: Action, client: Any, store: Any, contact_id: int, context: Any) -> str:
    from activities.outbound import call_webhook

    inp = WebhookInput(ref=_ref(rule, action, contact_id, context), url=action.args["url"],
                       method=action.args.get("method", "POST"), body=action.args.get("body"), purpose=None)
    result = await call_webhook(context.deps or hook.deps(store), inp)
    return "" if result.status == "sent" else result.reason or result.status


EFFECTS: dict[str, Callable[..., Awaitable[str]]] = {
    "enrol": enrol_action, "notify": notify_action, "webhook": webhook_action,
}
