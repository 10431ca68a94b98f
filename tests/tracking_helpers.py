"""Shared setup for the tracking server tests: the real app on a real store, a contact with a
sent message, signed tokens, and counts of what the store holds (to prove refusals change nothing)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.email import CONFIRM_TTL_S
from compiler.consent_model import load_consent_model
from devstack.binaries import test_server
from tracking import tokens
from tracking.bots import BotRules
from tracking.server import create_app
from tracking.tokens import DEV_KEY, TokenSigner

ROOT = Path(__file__).resolve().parent.parent
SIGNER = TokenSigner([DEV_KEY])
OTHER_SIGNER = TokenSigner([b"another-key-that-is-long-enough"])
PUBLIC_URL = "https://track.example.test"
API_TOKEN = "api-token-0123456789"
TWILIO_TOKEN = "twilio-auth-token"
MESSAGE_ID = "<0123456789abcdef0123456789abcdef@nurture.local>"
LINKS = ["https://example.com/welcome?utm=1", "https://example.com/pricing", "https://example.com/docs"]
MODEL = load_consent_model(ROOT / "journeys" / "consent.yaml")


@pytest.fixture(scope="module")
async def temporal_client():
    """A real Temporal client (time-skipping test server) shared by a test module."""
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server()) as env:
        yield env.client


def make_app(store: Any, client: Any = None, *, bots: BotRules | None = None, journeys: dict | None = None,
             task_queue: str | None = None):
    """The real app; `client` is a temporalio Client (None: Temporal unreachable)."""

    async def provider() -> Any:
        if client is None:
            raise ConnectionError("Temporal is not running in this test")
        return client

    return create_app(
        store=store, signer=SIGNER, client_provider=provider, api_tokens=[API_TOKEN],
        twilio_auth_token=TWILIO_TOKEN, public_url=PUBLIC_URL, consent_model=MODEL, bot_rules=bots,
        journeys_provider=(lambda: journeys) if journeys else None, task_queue=task_queue,
    )


def http(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 4711)),
                             base_url=PUBLIC_URL, follow_redirects=False)


def seed(store: Any, *, email: str = "ada@example.com", phone: str | None = "+14155550123",
         sent_ago_s: float = 60, links: list[str] = LINKS, message_id: str = MESSAGE_ID) -> int:
    """A contact with email marketing consent and one sent message with `links`."""
    cid = store.create_contact(email=email, phone=phone, external_id=f"ext-{email}", first_name="Ada")
    store.record_consent(cid, "email", "marketing", "granted", source="signup form")
    store.save_message(message_id, contact_id=cid, journey_id="welcome", step_id="hello", channel="email", links=links)
    store.record_event(cid, "email.sent", journey_id="welcome", step_id="hello", message_id=message_id,
                       at=datetime.now(timezone.utc) - timedelta(seconds=sent_ago_s))
    return cid


def token(kind: str, cid: int, signer: TokenSigner = SIGNER, **fields: Any) -> str:
    defaults: dict[str, dict[str, Any]] = {
        tokens.OPEN: {"message_id": MESSAGE_ID},
        tokens.CLICK: {"message_id": MESSAGE_ID, "link": 0},
        tokens.UNSUBSCRIBE: {"message_id": MESSAGE_ID, "channel": "email", "purpose": "marketing"},
        tokens.PREFERENCES: {"message_id": MESSAGE_ID},
        tokens.CONFIRM: {"channel": "email", "purpose": "marketing", "expires_at": int(time.time()) + CONFIRM_TTL_S},
    }
    return signer.sign(kind, contact_id=cid, **{**defaults[kind], **fields})


def tamper(tok: str) -> str:
    """Change one character in the middle of the token (the payload, for either token format)."""
    i = len(tok.split(".")[0]) // 2
    return tok[:i] + ("A" if tok[i] != "A" else "B") + tok[i + 1:]


def counts(store: Any) -> tuple[int, int, int]:
    """(events, consent events, messages) across all contacts."""
    ids = store.contact_ids(include_erased=True)
    return (
        sum(len(store.events_for(i)) for i in ids),
        sum(len(store.consent_history(i)) for i in ids),
        sum(len(store.messages_for(i)) for i in ids),
    )


def event_types(store: Any, cid: int) -> list[str]:
    return [e.type for e in store.events_for(cid)]
