"""The whole product on one machine (`cli.py dev`): the Temporal dev server with its web
UI, an SMTP sink keeping .eml files, the SMS API sink, the tracking server (when
tracking/server.py exists), the bounce mailbox, an in-process worker, and `apply` of the journeys."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.ports import require_free
from devstack.temporal_server import TemporalDevServer
from workflows.run_types import TASK_QUEUE


@dataclass
class DevConfig:
    data_dir: Path = Path(".data")
    port: int = 7233
    ui_port: int = 8233
    smtp_port: int = 1025
    sms_port: int = 8025
    tracking_port: int = 8000
    bounce_port: int = 2525
    journeys: Path = Path("journeys")
    demo: bool = False
    task_queue: str = TASK_QUEUE


DEV_API_TOKEN = "dev-api-token"


def deployed_journeys(store: Any) -> dict[str, Any]:
    """The active deployed version of every active journey (what events may start)."""
    from deploy.plan import deployed

    out: dict[str, Any] = {}
    for state in store.list_journeys():
        journey = deployed(store, state.journey_id, state.active_version) if state.state == "active" else None
        if journey is not None:
            out[journey.id] = journey
    return out


def tracking_app(deps: Any, client: Any, *, sms_auth_token: str, task_queue: str) -> Any | None:
    """The tracking server's ASGI app, or None where tracking/server.py does not exist."""
    try:
        from tracking.server import API_TOKENS_ENV, api_tokens_from_text, create_app
    except ModuleNotFoundError as exc:
        if exc.name == "tracking.server":
            return None
        raise

    async def client_provider() -> Any:
        return client

    return create_app(
        store=deps.store, signer=deps.signer, client_provider=client_provider,
        api_tokens=api_tokens_from_text(os.environ.get(API_TOKENS_ENV, "")) or [DEV_API_TOKEN],
        twilio_auth_token=sms_auth_token, public_url=deps.tracking_url,
        journeys_provider=lambda: deployed_journeys(deps.store), task_queue=task_queue,
        search_attributes=True,  # the dev server registers them at start
    )


class DevStack:
    """`async with DevStack(config) as stack: print(stack.urls())`."""

    def __init__(self, config: DevConfig) -> None:
        self.config = config
        self._stack = AsyncExitStack()
        self.server: TemporalDevServer | None = None
        self.client: Any = None
        self.store: Any = None
        self.smtp: Any = None
        self.sms: Any = None
        self.tracking: Any = None
        self.bounces: Any = None
        self.report_lines: list[str] = []

    def check_ports(self) -> None:
        c = self.config
        for port, what in ((c.port, "the Temporal server (--port)"), (c.ui_port, "the Temporal web UI (--ui-port)"),
                           (c.smtp_port, "the SMTP sink (--smtp-port)"), (c.sms_port, "the SMS API (--sms-port)"),
                           (c.tracking_port, "the tracking server (--tracking-port)"),
                           (c.bounce_port, "the bounce mailbox (--bounce-port)")):
            require_free(port, what)

    async def __aenter__(self) -> "DevStack":
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self) -> None:
        from activities.deps import Deps, SmsConfig, SmtpConfig
        from marketing.hooks import temperature_thresholds
        from devstack.dev_dkim import dev_signer
        from devstack.sms_api import SmsApiServer
        from devstack.smtp_sink import SmtpSink
        from store import Store
        from tracking.tokens import signer_from_env
        from worker import create_worker

        c, stack = self.config, self._stack
        self.check_ports()
        c.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = stack.enter_context(TemporalDevServer(
            port=c.port, ui_port=c.ui_port, db_file=c.data_dir / "temporal.db", log_file=c.data_dir / "temporal.log"))
        self.store = Store.open(os.environ.get("NURTURE_DB_URL") or f"sqlite:///{(c.data_dir / 'nurture.db').resolve()}")
        stack.callback(self.store.close)
        self.smtp = stack.enter_context(SmtpSink(port=c.smtp_port, eml_dir=c.data_dir / "outbox"))
        self.sms = stack.enter_context(SmsApiServer(port=c.sms_port))
        self.client = await self.server.connect()
        tracking_url = f"http://127.0.0.1:{c.tracking_port}"
        # in-process code that configures itself from the environment (automation rules'
        # notifications) must reach this stack's sinks, not the defaults
        _set_env_until_exit(stack, NURTURE_SMTP_HOST="127.0.0.1", NURTURE_SMTP_PORT=str(self.smtp.port),
                            NURTURE_TRACKING_URL=tracking_url)
        deps = Deps(
            store=self.store, signer=signer_from_env(),
            smtp=SmtpConfig(port=self.smtp.port),
            sms=SmsConfig(base_url=self.sms.url, account_sid=self.sms.state.account_sid,
                           auth_token=self.sms.state.auth_token, status_callback=f"{tracking_url}/sms/status"),
            tracking_url=tracking_url,
            temperature_thresholds=temperature_thresholds(store=self.store),
            dkim=dev_signer(c.data_dir, c.journeys),  # signed like production mail (devstack/dev_dkim.py)
        )
        self.report_lines.append(f"DKIM: signing as d={deps.dkim.domain} s=dev; its DNS record is in "
                                 f"{c.data_dir / 'dkim-dev.txt'}")
        if c.demo:  # before the app: its write keys are read from the environment
            from devstack.demo_site import WRITE_KEYS_ENV, DEV_WRITE_KEY, add_demo_site

            # the demo's key is accepted unless NURTURE_WRITE_KEYS says otherwise
            if not os.environ.get(WRITE_KEYS_ENV):
                _set_env_until_exit(stack, **{WRITE_KEYS_ENV: DEV_WRITE_KEY})
        app = tracking_app(deps, self.client, sms_auth_token=self.sms.state.auth_token, task_queue=c.task_queue)
        if app is not None and c.demo:
            add_demo_site(app, tracking_url)
        if app is not None:
            from devstack.uvicorn_thread import UvicornThread

            self.tracking = stack.enter_context(UvicornThread(app, c.tracking_port, name="tracking"))
        self.bounces = stack.enter_context(self._bounce_listener(deps))
        await stack.enter_async_context(create_worker(self.client, deps, task_queue=c.task_queue))
        await self._deploy()

    def _bounce_listener(self, deps: Any) -> Any:
        """The bounce mailbox (devstack/bounce_listener.py): DSNs and complaints sent to the VERP
        envelope senders, handled on this loop with the stack's store, client and journeys."""
        import asyncio

        from compiler.sending_model import default_sending_rules, rules_if_present
        from devstack.bounce_listener import BounceListener, mailbox_handle
        from marketing.bounces import event_publisher

        async def client_provider() -> Any:
            return self.client

        c = self.config
        rules = rules_if_present(c.journeys / "sending.yaml")[0] or default_sending_rules()
        publish = event_publisher(self.store, client_provider, lambda: deployed_journeys(self.store), c.task_queue,
                                  search_attributes=True)
        handle = mailbox_handle(self.store, deps.signer, publish, rules.bounces)
        return BounceListener(handle, port=c.bounce_port, loop=asyncio.get_running_loop())

    async def _deploy(self) -> None:
        from deploy.apply import apply_plan
        from deploy.load import load_for_deploy
        from deploy.plan import build_plan
        from deploy.report import format_report

        c = self.config
        plan = await build_plan(self.client, self.store, load_for_deploy(c.journeys), whole_set=c.journeys.is_dir())
        report = await apply_plan(self.client, self.store, plan, task_queue=c.task_queue)
        self.report_lines.append(f"apply {c.journeys}: " + format_report(report).replace("\n", "\n  "))
        if c.demo:
            from devstack.demo import enrol_demo, import_contacts

            ids = import_contacts(self.store)
            self.report_lines += await enrol_demo(self.client, self.store, ids, c.task_queue)

    def urls(self) -> dict[str, str]:
        assert self.server is not None
        out = {
            "Temporal UI": self.server.ui_url or "(headless)",
            "Temporal gRPC": self.server.address,
            "SMTP sink": f"{self.smtp.host}:{self.smtp.port} (kept in {self.config.data_dir / 'outbox'})",
            "SMS API": self.sms.url,
            "Bounce mailbox": f"{self.bounces.host}:{self.bounces.port} (SMTP: DSNs and complaints to bounce+...@)",
            "Tracking": (f"{self.tracking.url} (events API bearer token: {os.environ.get('NURTURE_API_TOKENS') or DEV_API_TOKEN})"
                         if self.tracking else "(tracking/server.py not available)"),
        }
        if self.tracking and self.config.demo:
            out["Demo site"] = f"{self.tracking.url}/demo/ (the page snippet and a signup form)"
        return out

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.aclose()


def _set_env_until_exit(stack: AsyncExitStack, **values: str) -> None:
    """Set environment variables for the stack's life and restore them when it closes, so a stack
    started inside another program (a test) leaves that program's environment as it found it."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)

    def restore() -> None:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    stack.callback(restore)
