"""The tracking server (Starlette; `python cli.py serve`): opens, clicks, unsubscribes, the
preference page, double opt-in confirmation, Twilio webhooks and the events API.

    app = create_app(store=..., signer=..., client_provider=..., api_tokens=[...],
                     twilio_auth_token=..., public_url="https://t.example.com")

`client_provider` is an async callable returning a temporalio Client, called when an event
has to reach journeys, so the server starts (and answers pixels and redirects) before
Temporal is up. See docs/ARCHITECTURE.md, "Tracking server".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from compiler.consent_model import ConsentModel
from marketing.model import LiveConsentModel
from tracking import email_routes, esp_webhooks, events_api, forms, pages, preferences, segment_api, sms_routes, snippet
from tracking.bots import BotRules
from tracking.context import ClientProvider, JourneysProvider, Tracking
from tracking.tokens import TokenSigner

API_TOKENS_ENV = "NURTURE_API_TOKENS"


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def not_found(request: Request, exc: Exception) -> Response:
    return pages.message_page("Not found", "There is nothing here.", status_code=404)


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    return pages.message_page("Not allowed", "This address does not accept that request.", status_code=405)


async def server_error(request: Request, exc: Exception) -> Response:
    return pages.message_page("Something went wrong", "Please try again in a moment.", status_code=503)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/t.js", snippet.script, methods=["GET"]),
    Route("/o/{token}", email_routes.open_pixel, methods=["GET"]),
    Route("/c/{token}", email_routes.click, methods=["GET"]),
    Route("/u/{token}", email_routes.unsubscribe_page, methods=["GET"]),
    Route("/u/{token}", email_routes.unsubscribe, methods=["POST"]),
    Route("/p/{token}", preferences.preferences_page, methods=["GET"]),
    Route("/p/{token}", preferences.save_preferences, methods=["POST"]),
    Route("/confirm/{token}", email_routes.confirm_page, methods=["GET"]),
    Route("/confirm/{token}", email_routes.confirm, methods=["POST"]),
    Route("/f/{form}", forms.show_form, methods=["GET"]),
    Route("/f/{form}", forms.submit_form, methods=["POST"]),
    Route("/sms/status", sms_routes.status, methods=["POST"]),
    Route("/sms/inbound", sms_routes.inbound, methods=["POST"]),
    Route("/v1/events", events_api.post_event, methods=["POST"]),
    *(Route(f"/v1/{kind}", segment_api.endpoint(kind), methods=["POST"]) for kind in segment_api.TYPES),
    Route("/v1/batch", segment_api.batch, methods=["POST"]),
    *esp_webhooks.ROUTES,
]


def create_app(
    *,
    store: Any,
    signer: TokenSigner,
    client_provider: ClientProvider,
    api_tokens: Iterable[str],
    twilio_auth_token: str,
    public_url: str,
    journeys_provider: JourneysProvider | None = None,
    consent_model: ConsentModel | None = None,
    bot_rules: BotRules | None = None,
    task_queue: str | None = None,
    search_attributes: bool = False,
    write_keys: Iterable[str] | None = None,
    ingest_rate: str | None = None,
    esp: esp_webhooks.EspConfig | None = None,
) -> Starlette:
    """The ASGI app. `consent_model` defaults to journeys/consent.yaml; `task_queue` is where
    journeys that events enter are started (default: the worker's); `search_attributes` gives
    those runs their Journey/JourneyVersion/ContactId attributes (registered by apply).
    `write_keys`/`ingest_rate`: the Segment-compatible API's (tracking/segment_api.py; default
    from NURTURE_WRITE_KEYS / NURTURE_INGEST_RATE). `esp`: the ESP webhooks' keys
    (tracking/esp_webhooks.py; default from the environment)."""
    app = Starlette(
        routes=ROUTES,
        exception_handlers={404: not_found, 405: method_not_allowed, 500: server_error},
    )
    app.state.tracking = Tracking(
        store=store,
        signer=signer,
        client_provider=client_provider,
        api_tokens=tuple(t for t in api_tokens if t),
        twilio_auth_token=twilio_auth_token,
        public_url=public_url.rstrip("/"),
        consent_model=consent_model or LiveConsentModel(store),  # follows deployments (marketing/model.py)
        journeys_provider=journeys_provider,
        bots=bot_rules or BotRules(),
        task_queue=task_queue,
        search_attributes=search_attributes,
    )
    segment_api.install(app, write_keys=write_keys, rate=ingest_rate)
    app.state.esp = esp or esp_webhooks.EspConfig.from_env()
    return app


class LazyClient:
    """An async client provider that connects on first use and retries after a failure."""

    def __init__(self, connect: ClientProvider) -> None:
        self._connect = connect
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await asyncio.wait_for(self._connect(), timeout=10)
        return self._client


def api_tokens_from_text(text: str) -> list[str]:
    """`NURTURE_API_TOKENS`: comma-separated, blanks ignored."""
    return [t.strip() for t in text.split(",") if t.strip()]
