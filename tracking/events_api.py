"""`POST /v1/events`: events from other systems (bearer token), through engine.events.publish.

    {"contact": {"id": 5} | {"external_id": "u-17"} | {"email": "a@b.c"},
     "type": "trial.started", "data": {...},
     "timestamp": "2024-03-01T09:30:00Z"}              -> 202 {"event_id": N}

`timestamp` (optional, default now): when the event happened, ISO 8601 with its zone; older than
engine.event_time.BACKFILL_AFTER it is a backfilled event (scored, acts on nothing now).
Refusals answer JSON `{"error": "..."}` and store nothing: 401 no/wrong token, 413 body over
64 KB, 400 not JSON or a timestamp without a zone / in the future, 422 wrong shape or event
type, 404 unknown contact, 503 no Temporal.
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from engine.event_time import EventTimeError, parse_event_time
from store import ContactNotFound
from tracking.contact_ref import BadContactRef, parse_ref, resolve
from tracking.context import TemporalUnavailable, Tracking

MAX_BODY = 64 * 1024
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_TYPE_CHARS = 100


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authorised(header: str | None, tokens: tuple[str, ...]) -> bool:
    """`Bearer <token>` matching one of `tokens` (constant-time, every token compared)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(token.encode("utf-8"), given.strip().encode("utf-8"))
    return ok


async def read_limited(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body larger than {limit} bytes")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, f"body larger than {limit} bytes")
    except ClientDisconnect:
        raise Refused(400, "incomplete body") from None
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(body: bytes) -> tuple[tuple[str, Any], str, dict[str, Any], datetime | None]:
    """(contact ref, type, data, time or None for now) from the JSON body, or Refused."""
    try:
        doc = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "body is not valid JSON") from None
    if b"\\u0000" in body.lower():  # PostgreSQL's JSON cannot hold NUL characters
        raise Refused(422, "text must not contain NUL characters")
    if not isinstance(doc, dict):
        raise Refused(422, "body must be a JSON object")
    unknown = sorted(set(doc) - {"contact", "type", "data", "timestamp"})
    if unknown:
        raise Refused(422, f"unknown field(s): {', '.join(unknown)}")
    try:
        ref = parse_ref(doc.get("contact"))
    except BadContactRef as exc:
        raise Refused(422, str(exc)) from None
    event_type, data = doc.get("type"), doc.get("data", {})
    if not isinstance(event_type, str) or len(event_type) > MAX_TYPE_CHARS or not EVENT_TYPE.match(event_type):
        raise Refused(422, "type must look like trial.started (lowercase words separated by dots)")
    if not isinstance(data, dict):
        raise Refused(422, "data must be a JSON object")
    return ref, event_type, data, parse_timestamp(doc.get("timestamp"))


def parse_timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(422, "timestamp must be an ISO 8601 text, e.g. 2024-03-01T09:30:00Z")
    try:
        return parse_event_time(value)
    except EventTimeError as exc:
        raise Refused(400, f"timestamp: {exc}") from None


async def post_event(request: Request) -> JSONResponse:
    ctx: Tracking = request.app.state.tracking
    if not authorised(request.headers.get("authorization"), ctx.api_tokens):
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="nurture"'})
    try:
        ref, event_type, data, at = parse_event(await read_limited(request))
        contact_id = await ctx.run(resolve, ctx.store, *ref)
        if contact_id is None:
            raise Refused(404, "unknown contact")
        event_id = await ctx.publish(contact_id, event_type, data=data, degrade=False, at=at)
    except Refused as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    except ContactNotFound:
        return JSONResponse({"error": "unknown contact"}, status_code=404)
    except EventTimeError as exc:  # checked again when stored: the clock moved on
        return JSONResponse({"error": f"timestamp: {exc}"}, status_code=400)
    except TemporalUnavailable:
        return JSONResponse({"error": "Temporal is unavailable; try again"}, status_code=503,
                            headers={"Retry-After": "5"})
    return JSONResponse({"event_id": event_id}, status_code=202)
