"""What the activities need from the outside world, configured once per worker.

Read from the environment by `Deps.from_env()`; tests and `cli.py simulate/dev`
build it directly with their own sinks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from activities.configuration import ConfigurationError  # re-exported: the worker and commands catch it

DEFAULT_SENDER = "Nurture <hello@nurture.local>"


def _sender_env(name: str, default: str) -> str:
    """A sender from the environment, checked as journeys' `from` is (compiler.sender)."""
    from compiler.sender import address_problem, normalise

    value = os.environ.get(name, "").strip()
    if not value:
        return default
    problem = address_problem(value)
    if problem:
        raise ConfigurationError(f"{name}={value!r} is not a valid sender: {problem}")
    return normalise(value)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 1025
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # implicit TLS (465)
    start_tls: bool | None = False  # STARTTLS; None = when offered
    timeout: float = 30.0


@dataclass(frozen=True)
class SmsConfig:
    """A Twilio-compatible Messages API."""

    base_url: str = "http://127.0.0.1:8025"
    account_sid: str = "ACdev"
    auth_token: str = "dev-token"
    sender: str = "+15005550006"
    status_callback: str | None = None  # e.g. {tracking}/sms/status
    default_region: str | None = None  # for numbers stored without +country


@dataclass
class Deps:
    store: Any  # store.Store
    signer: Any  # tracking.tokens.TokenSigner
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    # the last defaults of From / Reply-To, for journeys whose version names none (compiler.sender)
    sender: str = DEFAULT_SENDER
    reply_to: str = ""
    tracking_url: str = "http://127.0.0.1:8000"
    message_domain: str = "nurture.local"
    teams: dict[str, list[str]] = field(default_factory=dict)  # notify: team -> addresses
    require_confirmed: frozenset[str] = frozenset()  # channels needing double opt-in
    webhook_timeout: float = 10.0
    temperature_thresholds: tuple[int, int] = (40, 70)  # warm, hot: from journeys/scoring.yaml
    # how an activity reports an event it learned (a bounce): the worker wires the process's event
    # path here (worker.create_worker), so scoring, rules and running journeys hear it
    publish_event: Callable[..., Awaitable[Any]] | None = None
    sending: Any = None  # compiler.sending_model.SendingRules; None: journeys/sending.yaml (NURTURE_SENDING_FILE)
    dkim: Any = None  # activities.dkim_signing.DkimSigner: signs every email; None: unsigned

    @classmethod
    def from_env(cls, store: Any = None, signer: Any = None) -> "Deps":
        from activities.dkim_signing import signer_from_env as dkim_from_env
        from store import Store
        from tracking.tokens import signer_from_env

        env = os.environ
        teams = {
            k[len("NURTURE_TEAM_") :].lower(): [a.strip() for a in v.split(",") if a.strip()]
            for k, v in env.items()
            if k.startswith("NURTURE_TEAM_")
        }
        dkim = dkim_from_env()  # before the store opens: a bad key is the first thing said
        return cls(
            dkim=dkim,
            store=store or Store.open(env.get("NURTURE_DB_URL")),
            signer=signer or signer_from_env(),
            smtp=SmtpConfig(
                host=env.get("NURTURE_SMTP_HOST", "127.0.0.1"),
                port=int(env.get("NURTURE_SMTP_PORT", "1025")),
                username=env.get("NURTURE_SMTP_USERNAME"),
                password=env.get("NURTURE_SMTP_PASSWORD"),
                use_tls=env.get("NURTURE_SMTP_TLS", "") == "1",
                start_tls=None if env.get("NURTURE_SMTP_STARTTLS", "") == "1" else False,
            ),
            sms=SmsConfig(
                base_url=env.get("NURTURE_SMS_API_URL", "http://127.0.0.1:8025"),
                account_sid=env.get("NURTURE_SMS_ACCOUNT_SID", "ACdev"),
                auth_token=env.get("NURTURE_SMS_AUTH_TOKEN", "dev-token"),
                sender=env.get("NURTURE_SMS_FROM", "+15005550006"),
                status_callback=env.get("NURTURE_SMS_STATUS_CALLBACK"),
                default_region=env.get("NURTURE_SMS_DEFAULT_REGION"),
            ),
            sender=_sender_env("NURTURE_SENDER", DEFAULT_SENDER),
            reply_to=_sender_env("NURTURE_REPLY_TO", ""),
            tracking_url=env.get("NURTURE_TRACKING_URL", "http://127.0.0.1:8000").rstrip("/"),
            message_domain=env.get("NURTURE_MESSAGE_DOMAIN", "nurture.local"),
            teams=teams or {"sales": ["sales@nurture.local"]},
            require_confirmed=frozenset(
                c.strip() for c in env.get("NURTURE_REQUIRE_CONFIRMED", "").split(",") if c.strip()
            ),
        )
