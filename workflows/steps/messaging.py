"""Steps that send something: email, SMS, internal notifications, webhooks."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from compiler.ir import Notify, SendEmail, SendSms, Webhook
    from workflows.run import ExitRun, Run


def _templates(pairs: tuple, name: str) -> dict[str, dict[str, str]]:
    """The named template and its locale variants, as plain dicts."""
    return {
        key: dict(vars(tpl)) for key, tpl in pairs if key == name or key.startswith(name + ".")
    }


async def _send(run: Run, step: SendEmail | SendSms, channel: str, activity: str, pairs: tuple) -> str | None:
    policy = run.journey.policy
    purpose = step.purpose or policy.purpose_for(channel) or "marketing"
    cap = next(((f.max, f.per_s) for f in policy.frequency_caps if f.channel == channel), None)
    qh = (policy.quiet_hours.from_min, policy.quiet_hours.to_min) if policy.quiet_hours else None
    inp = c.SendInput(
        ref=run.ref(step),  # renewed before each attempt below: `ref.at` is "now" for the gate
        template_name=step.template,
        purpose=purpose,
        templates=_templates(pairs, step.template),
        parts=run.journey.parts_for(step.template),
        quiet_hours=qh,
        timezone=policy.timezone,
        frequency_cap=cap,
        finish=step.next is None,  # the last step: its send also records the run's completion
        sender=run.journey.sender or "",
        reply_to=run.journey.reply_to or "",
    )
    while True:
        inp.ref = run.ref(step)
        result: c.SendResult = await run.effect(activity, inp, c.SendResult, f"{activity} {step.id}")
        if result.status != "postponed":
            break
        # quiet hours or a frequency cap: wait for the window, never drop the send
        run.note(step, "postponed", reason=result.reason, until=result.retry_at)
        # at least a minute, so a clock disagreement can never spin the loop
        until = max(datetime.fromisoformat(result.retry_at), workflow.now() + timedelta(minutes=1))
        await run.wait(lambda: False, until, f"{step.id}: postponed ({result.reason})")
        await run.check_goal()
    run.note(step, result.status, reason=result.reason, message_id=result.message_id)
    if result.status == "sent":
        run.sent[step.id] = result.message_id
        run.completion_recorded = result.finished
    elif result.status == "skipped" and result.reason in ("no_consent", "suppressed"):
        if policy.on_no_consent == "exit":
            raise ExitRun(result.reason)
    elif result.status == "failed" and step.on_failure == "exit":
        raise ExitRun(f"send_failed:{result.reason}")
    return step.next


async def send_email(run: Run, step: SendEmail) -> str | None:
    return await _send(run, step, "email", c.SEND_EMAIL, run.journey.email_templates)


async def send_sms(run: Run, step: SendSms) -> str | None:
    return await _send(run, step, "sms", c.SEND_SMS, run.journey.sms_templates)


async def notify(run: Run, step: Notify) -> str | None:
    inp = c.NotifyInput(
        ref=run.ref(step),
        to=step.to,
        template_name=step.template,
        templates=_templates(run.journey.email_templates, step.template),
        parts=run.journey.parts_for(step.template),
    )
    result: c.SendResult = await run.effect(c.NOTIFY, inp, c.SendResult, f"notify {step.to}")
    run.note(step, result.status, reason=result.reason)
    return step.next


async def webhook(run: Run, step: Webhook) -> str | None:
    purpose = step.purpose or run.journey.policy.purpose_for("webhook")
    inp = c.WebhookInput(ref=run.ref(step), url=step.url, method=step.method, body=step.body, purpose=purpose)
    result: c.SendResult = await run.effect(c.CALL_WEBHOOK, inp, c.SendResult, f"webhook {step.id}")
    run.note(step, result.status, reason=result.reason)
    if result.status == "skipped" and run.journey.policy.on_no_consent == "exit":
        raise ExitRun(result.reason)
    return step.next
