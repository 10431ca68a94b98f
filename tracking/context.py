"""What every route of the tracking server shares: the store, the token signer, the Temporal
client (fetched lazily, so the server can start before Temporal is up) and the one path for
events and consent changes (engine.events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from compiler.consent_model import ConsentModel
from tracking.bots import BotRules
from tracking.tokens import BadToken, TokenSigner

log = logging.getLogger(__name__)

T = TypeVar("T")
ClientProvider = Callable[[], Awaitable[Any]]  # -> temporalio.client.Client
JourneysProvider = Callable[[], dict[str, Any]]  # -> {journey id: compiler.ir.Journey}


class TemporalUnavailable(Exception):
    """No Temporal client could be had (the server is down or unreachable)."""


@dataclass
class Tracking:
    store: Any  # store.Store
    signer: TokenSigner
    client_provider: ClientProvider
    api_tokens: tuple[str, ...]
    twilio_auth_token: str
    public_url: str
    consent_model: ConsentModel
    journeys_provider: JourneysProvider | None = None
    bots: BotRules = field(default_factory=BotRules)
    task_queue: str | None = None
    search_attributes: bool = False  # runs that events start get Journey/ContactId (apply registers them)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call off the event loop."""
        return await asyncio.to_thread(partial(fn, *args, **kwargs))

    def verify(self, token: str, kind: str) -> dict[str, Any] | None:
        """The token's fields, or None when it is forged, tampered, of another kind or expired."""
        try:
            return self.signer.verify(token, kind)
        except BadToken:
            return None

    def path_token(self, request: Any, kind: str) -> tuple[dict[str, Any], int] | None:
        """The request's path token, verified as `kind`, and its contact id; None if forged,
        tampered, of another kind, expired or without a usable contact."""
        fields = self.verify(request.path_params["token"], kind)
        contact_id = contact_id_of(fields or {})
        return None if fields is None or contact_id is None else (fields, contact_id)

    def url(self, path: str) -> str:
        return self.public_url.rstrip("/") + path

    async def client(self) -> Any:
        try:
            return await self.client_provider()
        except Exception as exc:  # noqa: BLE001 - any failure to connect means "unavailable"
            log.warning("Temporal is not reachable: %s", exc)
            raise TemporalUnavailable(str(exc)) from None

    async def publish(self, contact_id: int, event_type: str, *, data: dict[str, Any] | None = None,
                      message_id: str | None = None, likely_bot: bool = False, degrade: bool = True,
                      at: datetime | None = None) -> int | None:
        """Store the event and tell the contact's journeys (engine.events.publish); the event id.

        Without Temporal: with `degrade` the event is still stored (journeys are not told, logged),
        else TemporalUnavailable is raised before anything is stored.
        """
        from engine.events import publish

        try:
            client = await self.client()
        except TemporalUnavailable:
            if not degrade:
                raise
            stored = dict(data or {}, **({"likely_bot": True} if likely_bot else {}))
            return await self.run(self.store.record_event, contact_id, event_type, data=stored, message_id=message_id,
                                  at=at)
        journeys = self.journeys_provider() if self.journeys_provider else None
        kwargs = {"task_queue": self.task_queue} if self.task_queue else {}
        published = await publish(client, self.store, contact_id, event_type, data=data, message_id=message_id,
                                  likely_bot=likely_bot, journeys=journeys,
                                  search_attributes=self.search_attributes, at=at, **kwargs)
        return published.event_id

    async def consent_changed(self, contact_id: int) -> None:
        """Tell the contact's running journeys to re-check consent now (best effort without Temporal)."""
        from engine.events import profile_changed

        try:
            client = await self.client()
        except TemporalUnavailable:
            return
        await profile_changed(client, self.store, contact_id, "consent")


def contact_id_of(fields: dict[str, Any]) -> int | None:
    """The token's contact id as an int (tokens may carry it as text), or None."""
    value = fields.get("contact_id")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    return None
