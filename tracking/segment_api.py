"""Segment's HTTP Tracking API on the tracking server: `POST /v1/identify|track|page|alias|batch`,
so a website or CRM that uses a Segment library switches by changing its host.

Auth: HTTP Basic with a write key as user name (NURTURE_WRITE_KEYS, comma-separated: several
keys are valid at once, so one can be rotated), or `writeKey` in the body (what a browser's
sendBeacon can send), or an events API bearer token (NURTURE_API_TOKENS). Otherwise 401 and
nothing is stored.

A message (Segment's fields): `type`, `userId` / `anonymousId` (one is required), `traits`
(identify), `event` + `properties` (track), `name` + `properties` (page), `previousId` (alias),
`context` (locale, timezone, page.*, campaign.*), `timestamp`, `sentAt`, `messageId`.
- identify: engine.identify (upsert by userId, else email trait; an anonymous profile for an
  anonymousId alone; anonymous history merged once into the known contact);
- track: the event `event` ("Order Completed" -> `order.completed`) with `properties` as data;
- page: `page.visited` with url/path/title/referrer/search (properties, else context.page), and
  utm_* from context.campaign, so the shipped scoring, rules and segments see real visits;
- alias: `previousId` (an anonymous id or an earlier user id) becomes `userId`'s.
Events go through engine.events.publish (scores, stages, rules, journeys) at their own time:
`timestamp` corrected for the sender's clock as Segment does, timestamp + (receivedAt - sentAt).

Exactly once: a `messageId` already processed for the same key (store/ingest.py, claimed in the
transaction that stores the message) is answered 200 again and changes nothing, so a retried
batch records each message once. Limits: 32 KB per call and per message, 500 KB per batch
(413), a per-key rate limit (NURTURE_INGEST_RATE, default 200/second, `limits` syntax) answered
429 with Retry-After. One call answers 200 `{"success": true}` or 400 `{"error", "path"}`; a
batch answers 200 with a result per message (`{"messageId", "status": 200|400, "error", "path"}`).
Temporal unreachable: 503 with Retry-After, the messages not yet processed are not stored.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import time
import zlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import JSONResponse

from engine.event_time import EventTimeError, check_event_time, utcnow
from engine.identify import IdentifyError, check_user_id, identify
from store import StoreError
from store.ingest import AlreadyProcessed
from tracking.context import TemporalUnavailable, Tracking
from tracking.events_api import EVENT_TYPE, MAX_TYPE_CHARS, Refused, authorised, read_limited

WRITE_KEYS_ENV = "NURTURE_WRITE_KEYS"
RATE_ENV = "NURTURE_INGEST_RATE"
DEFAULT_RATE = "200/second"
MAX_CALL = 32 * 1024
MAX_BATCH = 500 * 1024
TYPES = ("identify", "track", "page", "alias")
UTM = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign", "term": "utm_term",
       "content": "utm_content"}
PAGE_FIELDS = ("url", "path", "title", "referrer", "search")


Duplicate = AlreadyProcessed  # the message id was processed before for this key


class RateLimited(Refused):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


class BadMessage(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclasses.dataclass
class SegmentConfig:
    write_keys: tuple[str, ...]
    limits: list[Any]
    limiter: MovingWindowRateLimiter


def install(app: Any, *, write_keys: Iterable[str] | None = None, rate: str | None = None) -> None:
    """Configure the API on `app` (its routes are in tracking.server.ROUTES). `write_keys`
    default: NURTURE_WRITE_KEYS; `rate` default: NURTURE_INGEST_RATE or DEFAULT_RATE."""
    keys = write_keys if write_keys is not None else os.environ.get(WRITE_KEYS_ENV, "").split(",")
    app.state.segment = SegmentConfig(
        write_keys=tuple(k.strip() for k in keys if k and k.strip()),
        limits=parse_many(rate or os.environ.get(RATE_ENV) or DEFAULT_RATE),
        limiter=MovingWindowRateLimiter(MemoryStorage()),
    )


def fingerprint(kind: str, key: str) -> str:
    """What the store keeps of a key: never the key itself."""
    return f"{kind}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def _basic_user(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, _password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None


def _write_key_ok(given: str, keys: tuple[str, ...]) -> bool:
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(key.encode("utf-8"), given.encode("utf-8"))
    return ok


def sender(request: Request, ctx: Tracking, config: SegmentConfig, body: dict[str, Any] | None) -> str | None:
    """The caller's key fingerprint, or None when no valid key or token is given."""
    header = request.headers.get("authorization")
    if header:
        user = _basic_user(header)
        if user is not None:
            return fingerprint("wk", user) if _write_key_ok(user, config.write_keys) else None
        return fingerprint("bt", header.partition(" ")[2].strip()) if authorised(header, ctx.api_tokens) else None
    given = body.get("writeKey") if isinstance(body, dict) else None
    if isinstance(given, str) and given and _write_key_ok(given, config.write_keys):
        return fingerprint("wk", given)
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request, limit: int) -> Any:
    raw = await read_limited(request, limit)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            raw = _gunzip(raw, limit)
        except (OSError, EOFError, zlib.error):
            raise Refused(400, "body is not valid gzip") from None
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "body is not valid JSON") from None


def _gunzip(raw: bytes, limit: int) -> bytes:
    out = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(limit + 1)
    if len(out) > limit:
        raise Refused(413, f"body larger than {limit} bytes")
    return out


# ---------------------------------------------------------------- messages


def parse_time(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadMessage(path, "must be an ISO 8601 text, e.g. 2024-03-01T09:30:00.000Z")
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadMessage(path, f"{value!r} is not an ISO 8601 date-time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise BadMessage(path, f"{value!r} has no time zone: add Z or an offset")
    return at.astimezone(timezone.utc)


def event_time(msg: dict[str, Any], batch_sent_at: Any, received: datetime) -> datetime | None:
    """The message's own time, corrected for the sender's clock: timestamp + (receivedAt - sentAt)."""
    at = parse_time(msg.get("timestamp"), "timestamp")
    sent = parse_time(msg.get("sentAt"), "sentAt") or parse_time(batch_sent_at, "sentAt")
    if at is None:
        return None
    if sent is not None:
        at = at + (received - sent)
    try:
        return check_event_time(at, received)
    except EventTimeError as exc:
        raise BadMessage("timestamp", str(exc)) from None


def event_type(name: Any) -> str:
    """A Segment event name as ours: "Order Completed" -> order.completed, trial.started as is."""
    if not isinstance(name, str) or not name.strip():
        raise BadMessage("event", "must be a non-empty string")
    text = name.strip()
    if not EVENT_TYPE.match(text):
        words = re.findall(r"[a-z0-9_]+", text.lower().replace("-", "_"))
        text = ".".join(words)
    if not text or len(text) > MAX_TYPE_CHARS or not EVENT_TYPE.match(text):
        raise BadMessage("event", f"{name!r} cannot be an event type (letters, digits, words)")
    return text


def _object(msg: dict[str, Any], key: str) -> dict[str, Any]:
    value = msg.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadMessage(key, "must be an object")
    return value


def _no_nul(value: Any, path: str) -> None:
    """PostgreSQL's JSON cannot hold NUL characters."""
    if isinstance(value, str) and "\x00" in value:
        raise BadMessage(path, "text must not contain NUL characters")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k, path)
            _no_nul(v, f"{path}.{k}")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _no_nul(v, f"{path}[{i}]")


def event_data(kind: str, msg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(event type, data) of a track or page message."""
    properties = dict(_object(msg, "properties"))
    context = _object(msg, "context")
    campaign = context.get("campaign") if isinstance(context.get("campaign"), dict) else {}
    data = {UTM[k]: v for k, v in campaign.items() if k in UTM and isinstance(v, str)}
    if kind == "track":
        name = event_type(msg.get("event"))
        data.update(properties)
    else:
        name = "page.visited"
        page = context.get("page") if isinstance(context.get("page"), dict) else {}
        data.update({k: page[k] for k in PAGE_FIELDS if isinstance(page.get(k), str)})
        data.update(properties)
        for key in ("name", "category"):
            if isinstance(msg.get(key), str):
                data.setdefault(key, msg[key])
    _no_nul(data, "properties")
    return name, data


def ids(msg: dict[str, Any]) -> tuple[str | None, str | None]:
    """(userId, anonymousId), one at least; BadMessage."""
    try:
        user_id = check_user_id(msg.get("userId"))
        anonymous_id = check_user_id(msg.get("anonymousId"), "anonymousId")
    except IdentifyError as exc:
        raise BadMessage(exc.path, exc.message) from None
    if user_id is None and anonymous_id is None:
        raise BadMessage("userId", "userId or anonymousId is required")
    return user_id, anonymous_id


def _identify_once(store: Any, key_id: str, message_id: str, **kwargs: Any) -> None:
    with store.transaction():
        if not store.claim_message(key_id, message_id):
            raise Duplicate()
        identify(store, **kwargs)


def _alias_once(store: Any, key_id: str, message_id: str, previous: str, user_id: str, context: Any) -> None:
    """`previous` (anonymous id or earlier user id) becomes `user_id`'s."""
    with store.transaction():
        if not store.claim_message(key_id, message_id):
            raise Duplicate()
        if store.contact_of_anonymous_id(previous) is not None:
            identify(store, user_id=user_id, anonymous_id=previous, context=context)
            return
        old = store.find_contact(external_id=previous)
        new = store.find_contact(external_id=user_id)
        if old is None:
            identify(store, user_id=user_id, anonymous_id=previous, context=context)
        elif new is None:
            store.update_contact(old.id, external_id=user_id)  # the previous id is kept as an alias
        elif new.id != old.id:
            raise BadMessage("previousId", "belongs to another known contact: two known contacts are not merged")


async def process(ctx: Tracking, key_id: str, msg: Any, kind: str | None, sent_at: Any, received: datetime,
                  seen: set[str]) -> None:
    """Handle one message (`seen`: message ids this key sent before); Duplicate, BadMessage,
    TemporalUnavailable."""
    if not isinstance(msg, dict):
        raise BadMessage("", "a message must be a JSON object")
    kind = kind or msg.get("type")
    if kind not in TYPES:
        raise BadMessage("type", f"must be one of {', '.join(TYPES)}")
    message_id = msg.get("messageId")
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > 300:
        raise BadMessage("messageId", "must be a string of 1 to 300 characters")
    if message_id in seen:  # the fast answer to a retry; the claim below is the guarantee
        raise Duplicate()
    at = event_time(msg, sent_at, received)
    context = _object(msg, "context")
    if kind == "alias":
        try:
            previous = check_user_id(msg.get("previousId"), "previousId")
            user_id = check_user_id(msg.get("userId"))
        except IdentifyError as exc:
            raise BadMessage(exc.path, exc.message) from None
        if previous is None or user_id is None:
            raise BadMessage("previousId" if previous is None else "userId", "is required")
        return await ctx.run(_alias_once, ctx.store, key_id, message_id, previous, user_id, context)
    user_id, anonymous_id = ids(msg)
    if kind == "identify":
        return await ctx.run(_identify_once, ctx.store, key_id, message_id, user_id=user_id,
                             anonymous_id=anonymous_id, traits=_object(msg, "traits"), context=context, at=at)
    name, data = event_data(kind, msg)
    await ctx.client()  # Temporal first: nothing is stored for a message journeys cannot hear of
    # track/page only find (or start) the profile: traits and context defaults are identify's. In
    # the loop, not a thread: publish below calls the store so too, and a thread hop per message
    # costs more than the lookup on a busy machine
    contact_id = identify(ctx.store, user_id=user_id, anonymous_id=anonymous_id, at=at)
    with ctx.store.claiming(key_id, message_id):  # stored with the event, in its transaction
        await ctx.publish(contact_id, name, data=data, degrade=False, at=at)


def _result(message_id: Any, status: int, error: str | None = None, path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"messageId": message_id if isinstance(message_id, str) else None, "status": status}
    if error is not None:
        out.update(error=error, path=path)
    return out


async def _one(ctx: Tracking, key_id: str, msg: Any, kind: str | None, sent_at: Any, received: datetime,
               seen: set[str]) -> dict[str, Any]:
    message_id = msg.get("messageId") if isinstance(msg, dict) else None
    try:
        await process(ctx, key_id, msg, kind, sent_at, received, seen)
    except Duplicate:
        return _result(message_id, 200) | {"duplicate": True}
    except (BadMessage, IdentifyError) as exc:
        return _result(message_id, 400, exc.message, exc.path)
    except EventTimeError as exc:  # checked again when stored
        return _result(message_id, 400, str(exc), "timestamp")
    except StoreError as exc:
        return _result(message_id, 400, str(exc), "")
    return _result(message_id, 200)


async def _seen(ctx: Tracking, key_id: str, messages: list[Any]) -> set[str]:
    """The message ids among `messages` this key sent before (one query for a whole batch)."""
    ids = [m["messageId"] for m in messages
           if isinstance(m, dict) and isinstance(m.get("messageId"), str) and 0 < len(m["messageId"]) <= 300]
    return await ctx.run(ctx.store.claimed_messages, key_id, ids) if ids else set()


def _refusal(status: int, error: str, **headers: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": error}, status_code=status, headers=headers or None)


async def _guarded(request: Request, limit: int) -> tuple[Tracking, str, Any]:
    """(context, sender key id, JSON body) after auth, size and rate checks; Refused otherwise."""
    ctx: Tracking = request.app.state.tracking
    config: SegmentConfig = request.app.state.segment
    header_key = sender(request, ctx, config, None)
    if request.headers.get("authorization") and header_key is None:
        raise Refused(401, "missing or wrong write key")
    body = await read_json(request, limit)
    key_id = header_key or sender(request, ctx, config, body)
    if key_id is None:
        raise Refused(401, "missing or wrong write key")
    if not all(config.limiter.hit(item, key_id) for item in config.limits):
        reset = max(config.limiter.get_window_stats(item, key_id).reset_time for item in config.limits)
        raise RateLimited(max(1, int(reset - time.time() + 0.999)))
    if not isinstance(body, dict):
        raise Refused(400, "body must be a JSON object")
    return ctx, key_id, body


def _refused(exc: Refused) -> JSONResponse:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="nurture"'
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    return _refusal(exc.status, exc.message, **headers)


def endpoint(kind: str):
    """The route of one message type (`/v1/identify`, ...)."""

    async def handle(request: Request) -> JSONResponse:
        received = utcnow()
        try:
            ctx, key_id, body = await _guarded(request, MAX_CALL)
            result = await _one(ctx, key_id, body, kind, None, received, await _seen(ctx, key_id, [body]))
        except Refused as exc:
            return _refused(exc)
        except TemporalUnavailable:
            return _refusal(503, "Temporal is unavailable; try again", **{"Retry-After": "5"})
        if result["status"] != 200:
            return JSONResponse({"success": False, "error": result["error"], "path": result["path"]}, status_code=400)
        return JSONResponse({"success": True})

    handle.__name__ = f"segment_{kind}"
    return handle


async def batch(request: Request) -> JSONResponse:
    """`POST /v1/batch`: each message on its own; 200 with a result per message."""
    received = utcnow()
    try:
        ctx, key_id, body = await _guarded(request, MAX_BATCH)
        messages = body.get("batch")
        if not isinstance(messages, list):
            raise Refused(400, "batch must be a list of messages")
        results = []
        seen = await _seen(ctx, key_id, messages)
        for msg in messages:
            if len(json.dumps(msg).encode("utf-8")) > MAX_CALL:
                results.append(_result(msg.get("messageId") if isinstance(msg, dict) else None, 400,
                                       f"message larger than {MAX_CALL} bytes", ""))
                continue
            results.append(await _one(ctx, key_id, msg, None, body.get("sentAt"), received, seen))
    except Refused as exc:
        return _refused(exc)
    except TemporalUnavailable:
        return _refusal(503, "Temporal is unavailable; try again (messages already recorded are not repeated)",
                        **{"Retry-After": "5"})
    return JSONResponse({"success": True, "results": results})
