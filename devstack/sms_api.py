"""A local SMS provider speaking Twilio's Messages API shape, for tests and `cli.py dev`.

`POST /2010-04-01/Accounts/{sid}/Messages.json` with form fields To, From (or
MessagingServiceSid), Body, StatusCallback; HTTP basic auth `sid:token`. Answers 201 with
Twilio-shaped JSON and keeps every message. Status callbacks ("sent", then "delivered") are
POSTed, signed with `X-Twilio-Signature`, to StatusCallback URLs on 127.0.0.1/localhost only.

Faults: `fail_next(status=500|429, times=N)`; `reject_number(to)` answers 400 with error 21211.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from activities.sms_text import segments
from devstack.uvicorn_thread import UvicornThread
from tracking import twilio_signature

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
DEFAULT_SID = "AC" + "0" * 32
DEFAULT_TOKEN = "dev-auth-token"
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


@dataclass
class SmsApiState:
    """What the API has accepted and the faults programmed into it (thread-safe)."""

    account_sid: str = DEFAULT_SID
    auth_token: str = DEFAULT_TOKEN
    send_callbacks: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # what was POSTed, with the reply status
    _failures: list[int] = field(default_factory=list)
    _rejected: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        if status not in (429, 500, 502, 503):
            raise ValueError("fail_next status must be 429, 500, 502 or 503")
        with self._lock:
            self._failures.extend([status] * times)

    def reject_number(self, number: str) -> None:
        with self._lock:
            self._rejected.add(number)

    def clear_faults(self) -> None:
        with self._lock:
            self._failures.clear()
            self._rejected.clear()

    def _take_failure(self) -> int | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _is_rejected(self, number: str) -> bool:
        with self._lock:
            return number in self._rejected

    def _keep(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self.messages]


def _authorized(request: Request, state: SmsApiState, sid: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(user.encode(), state.account_sid.encode())
    password_ok = hmac.compare_digest(password.encode(), state.auth_token.encode())
    return user_ok and password_ok and sid == state.account_sid


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname in _LOCAL_HOSTS


def callback_request(
    state: SmsApiState, message: dict[str, Any], status: str, error_code: int | None = None
) -> tuple[str, dict[str, str], dict[str, str]] | None:
    """(url, form, headers) of a signed status callback, or None when there is nowhere local to send it."""
    url = message.get("status_callback")
    if not url or not _is_local(url):
        return None
    params = {
        "AccountSid": state.account_sid,
        "ApiVersion": API_VERSION,
        "From": message["from"] or "",
        "MessageSid": message["sid"],
        "MessageStatus": status,
        "SmsSid": message["sid"],
        "SmsStatus": status,
        "To": message["to"],
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return url, params, {twilio_signature.HEADER: twilio_signature.sign(url, params, state.auth_token)}


def _record_callback(state: SmsApiState, url: str, params: dict[str, str], code: int) -> int:
    with state._lock:
        state.callbacks.append({"url": url, "params": params, "reply_status": code})
    return code


async def post_status(state: SmsApiState, message: dict[str, Any], status: str, error_code: int | None = None) -> int:
    """POST one signed status callback; returns the HTTP status (0: nowhere to send or unreachable)."""
    request = callback_request(state, message, status, error_code)
    if request is None:
        return 0
    url, params, headers = request
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            code = (await client.post(url, data=params, headers=headers)).status_code
    except httpx.HTTPError as exc:
        log.warning("SMS status callback to %s failed: %s", url, exc)
        code = 0
    return _record_callback(state, url, params, code)


def create_app(state: SmsApiState) -> Starlette:
    async def create_message(request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        if not _authorized(request, state, sid):
            return _error(401, 20003, "Authenticate")
        failure = state._take_failure()
        if failure == 429:
            return _error(429, 20429, "Too Many Requests")
        if failure is not None:
            return _error(failure, 20500, "Internal Server Error")
        form = await request.form()
        to = str(form.get("To") or "")
        sender = str(form.get("From") or "") or None
        service = str(form.get("MessagingServiceSid") or "") or None
        body = str(form.get("Body") or "")
        callback = str(form.get("StatusCallback") or "") or None
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to) or state._is_rejected(to):
            return _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        now = formatdate(time.time(), usegmt=True)
        message_sid = "SM" + secrets.token_hex(16)
        uri = f"/{API_VERSION}/Accounts/{sid}/Messages/{message_sid}.json"
        message = {
            "account_sid": sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(segments(body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": message_sid,
            "status": "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        state._keep({**message, "status_callback": callback})
        task = None
        if callback and state.send_callbacks:
            task = BackgroundTask(_callbacks, state, {**message, "status_callback": callback})
        return JSONResponse(message, status_code=201, background=task)

    return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", create_message, methods=["POST"])])


async def _callbacks(state: SmsApiState, message: dict[str, Any]) -> None:
    for status in ("sent", "delivered"):
        await post_status(state, message, status)


class SmsApiServer(UvicornThread):
    """The API served by uvicorn on 127.0.0.1 in a background thread; `state` holds what it kept."""

    def __init__(self, port: int = 0, *, account_sid: str = DEFAULT_SID, auth_token: str = DEFAULT_TOKEN,
                 send_callbacks: bool = True) -> None:
        self.state = SmsApiState(account_sid=account_sid, auth_token=auth_token, send_callbacks=send_callbacks)
        super().__init__(create_app(self.state), port, name="sms-api")

    @property
    def messages_url(self) -> str:
        """`{url}/2010-04-01/Accounts/{sid}/Messages.json`."""
        return f"{self.url}/{API_VERSION}/Accounts/{self.state.account_sid}/Messages.json"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.state.snapshot()

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        self.state.fail_next(status, times)

    def reject_number(self, number: str) -> None:
        self.state.reject_number(number)

    def send_status(self, sid: str, status: str, error_code: int | None = None) -> int:
        """POST a signed status callback for an accepted message now (e.g. "undelivered", 30003)."""
        message = next((m for m in self.messages if m["sid"] == sid), None)
        if message is None:
            raise KeyError(f"no message {sid}")
        request = callback_request(self.state, message, status, error_code)
        if request is None:
            return 0
        url, params, headers = request
        try:
            code = httpx.post(url, data=params, headers=headers, timeout=5).status_code
        except httpx.HTTPError as exc:
            log.warning("SMS status callback to %s failed: %s", url, exc)
            code = 0
        return _record_callback(self.state, url, params, code)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until `count` messages were accepted."""
        deadline = time.monotonic() + timeout
        while len(self.state.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"SMS API: {len(self.state.messages)} of {count} messages after {timeout}s")
            time.sleep(0.01)
        return self.messages
