"""Shared by the deploy and dev-stack tests: a small journey written to a temp folder, a
session-wide DevStack (real Temporal dev server, SMTP sink, SMS API, tracking server,
worker) on free ports, and polling helpers for eventually consistent visibility."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from devstack.ports import free_port
from devstack.stack import DevConfig, DevStack

T = TypeVar("T")
JOURNEY_ID = "deploy-demo"

BODY = """Hi {{ contact.first_name or "there" }},
{text}
Unsubscribe: {{ unsubscribe_url }}
"""
HTML = """<html><body><p>Hi {{{{ contact.first_name or "there" }}}},</p>
<p><a href="https://example.com/{slug}">{text}</a></p>
<p><a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a></p></body></html>
"""


def write_template(folder: Path, name: str, subject: str, text: str) -> None:
    t = folder / "templates"
    t.mkdir(parents=True, exist_ok=True)
    (t / f"{name}.subject.txt").write_text(subject + "\n")
    (t / f"{name}.txt").write_text(BODY.replace("{text}", text))
    (t / f"{name}.html").write_text(HTML.format(slug=name, text=text))


def write_journey(folder: Path, journey_id: str = JOURNEY_ID, *, follow_up_subject: str = "Follow-up v1", pause: bool = True,
                  clicked_branch: bool = False, entry: str = "{manual: true}") -> Path:
    """hello (email) -> pause (wait_for `test.go`, 1h) -> follow-up (email). With `clicked_branch`,
    a click on hello goes to `clicked` (wait_for `test.go`) then `after-click` (email)."""
    write_template(folder, "hello", "Hello from the deploy test", "Read the guide")
    write_template(folder, "follow-up", follow_up_subject, "One more thing")
    steps = ["  - {id: hello, type: send_email, template: hello}"]
    if clicked_branch:
        steps.append("  - id: pause\n    type: wait_for\n    events:\n"
                     "      - {event: email.clicked, of: hello, next: clicked}\n"
                     "      - {event: test.go, next: follow-up}\n    timeout: 1h\n    on_timeout: follow-up")
        steps.append("  - id: clicked\n    type: wait_for\n    events:\n      - {event: test.go, next: after-click}\n"
                     "    timeout: 1h\n    on_timeout: after-click")
        steps.append("  - {id: after-click, type: send_email, template: follow-up, next: end}")
    elif pause:
        steps.append("  - id: pause\n    type: wait_for\n    events:\n      - {event: test.go, next: follow-up}\n"
                     "    timeout: 1h\n    on_timeout: follow-up")
    steps.append("  - {id: follow-up, type: send_email, template: follow-up}")
    path = folder / f"{journey_id}.yaml"
    path.write_text(f"journey: {journey_id}\ntitle: Deploy test\nentry: {entry}\n"
                    "policy:\n  consent: {email: marketing}\nsteps:\n" + "\n".join(steps) + "\n")
    return path


def stack_config(tmp: Path, journeys: Path, demo: bool = False) -> DevConfig:
    return DevConfig(data_dir=tmp / "data", port=free_port(), ui_port=free_port(), smtp_port=free_port(),
                     sms_port=free_port(), tracking_port=free_port(), bounce_port=free_port(), journeys=journeys,
                     demo=demo,
                     task_queue=f"test-{uuid.uuid4().hex[:8]}")


async def started_stack(config: DevConfig) -> DevStack:
    stack = DevStack(config)
    return await stack.__aenter__()


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, every: float = 0.1) -> T:
    """Poll `check()` until it returns something truthy (visibility lags a little)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(every)


def new_contact(store: Any, email: str, consent: bool = True) -> int:
    cid = store.create_contact(email=email, first_name="Test")
    if consent:
        store.record_consent(cid, "email", "marketing", "granted", source="test")
    return int(cid)


def links(html: str, kind: str) -> list[str]:
    """Tracking URLs of one kind (`c` clicks, `u` unsubscribe) in a rendered HTML body."""
    return re.findall(rf'href="(http://127\.0\.0\.1:\d+/{kind}/[^"]+)"', html)
