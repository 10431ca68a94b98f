"""Build compiled journeys directly in tests (the compiler has its own tests)."""

from __future__ import annotations

from dataclasses import replace

from compiler import ir

HTML = """<html><head><style>p {{ color: #333; }}</style></head><body>
<p>Hi {{{{ contact.first_name or "there" }}}}, {title}</p>
<p><a href="https://example.com/{name}?utm=1">Read more</a> <a href="https://example.com/pricing">Pricing</a></p>
<p><a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a></p></body></html>"""


def email(name: str, subject: str | None = None) -> tuple[str, ir.EmailTemplate]:
    subject = subject or f"{name} for {{{{ contact.first_name or 'you' }}}}"
    return name, ir.EmailTemplate(
        subject=subject,
        html=HTML.format(title=name, name=name),
        text=f"Hi {{{{ contact.first_name or 'there' }}}}: {name} https://example.com/{name}\nUnsubscribe: {{{{ unsubscribe_url }}}}",
    )


def sms(name: str, body: str | None = None) -> tuple[str, ir.SmsTemplate]:
    return name, ir.SmsTemplate(body=body or f"{name}: see https://example.com/{name} Reply STOP to opt out")


LINEAR = (ir.SendEmail, ir.SendSms, ir.Wait, ir.SetProfile, ir.Notify, ir.Webhook)


def _chain(steps: tuple[ir.Step, ...]) -> tuple[ir.Step, ...]:
    """As the compiler does: a step without `next` continues with the following one."""
    out = []
    for i, step in enumerate(steps):
        if step.next is None and isinstance(step, LINEAR) and i + 1 < len(steps):
            step = replace(step, next=steps[i + 1].id)
        out.append(step)
    return tuple(out)


def journey(*steps: ir.Step, emails=(), smses=(), goal=None, entry=None, **policy) -> ir.Journey:
    policy.setdefault("consent", (("email", "marketing"), ("sms", "marketing"), ("webhook", "third-party")))
    j = ir.Journey(
        id="test-journey",
        entry=entry or ir.Entry(kind="manual"),
        goal=goal,
        policy=ir.Policy(**policy),
        steps=_chain(steps),
        email_templates=tuple(email(n) if isinstance(n, str) else n for n in emails),
        sms_templates=tuple(sms(n) if isinstance(n, str) else n for n in smses),
    )
    return ir.Journey.from_dict({**j.to_dict(), "version": j.content_hash()})
