"""A real SMTP server (aiosmtpd) that keeps every message: the local mailbox of tests and `cli.py dev`.

It runs its own event loop in a background thread, so sync code, async code on any loop and
Temporal activities can all talk to it. Messages are kept in memory as parsed `EmailMessage`s and,
with `eml_dir`, also written as `.eml` files (named so that sorting by name sorts by arrival).

Fault injection (for reliability tests), thread-safe, each programmed from outside:
- `fail_next(code=451, times=2, stage="DATA")`: answer the next transactions with an error;
- `reject_recipient(addr, code=550, enhanced="5.1.1")`: refuse one address at RCPT;
- `drop_connection_after_data(times=1)`: store the message (it *was* delivered), then cut the
  connection before the client hears 250: "sent, but the sender never knew".
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

STAGES = ("MAIL", "RCPT", "DATA")


@dataclass(frozen=True)
class Delivery:
    """One accepted message with its envelope."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    path: Path | None = None


@dataclass
class _Faults:
    fail: dict[str, list[str]] = field(default_factory=lambda: {stage: [] for stage in STAGES})
    rejected: dict[str, str] = field(default_factory=dict)  # lower-cased address -> reply
    drops: int = 0


def _reply(code: int, enhanced: str | None, text: str) -> str:
    if not 400 <= code <= 599:
        raise ValueError(f"an SMTP failure code is 4xx or 5xx, not {code}")
    enhanced = enhanced or ("4.3.0" if code < 500 else "5.0.0")
    if enhanced[0] != str(code)[0]:
        raise ValueError(f"enhanced code {enhanced} does not match reply code {code}")
    return f"{code} {enhanced} {text}"


class _Handler:
    """aiosmtpd hooks; runs on the sink's loop."""

    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = self.sink._take_failure("MAIL")
        if failure:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = self.sink._rejection(address) or self.sink._take_failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.sink._take_failure("DATA")
        if failure:
            return failure
        raw = envelope.original_content or b""
        self.sink._store(envelope.mail_from or "", tuple(envelope.rcpt_tos), raw)
        if self.sink._take_drop() and server.transport is not None:
            # abort() (not close()) discards the 250 that aiosmtpd is about to write.
            server.transport.abort()
        return "250 2.0.0 OK: queued"


class SmtpSink:
    """`with SmtpSink() as sink:` (or `async with`, or start()/stop()); `sink.port` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, eml_dir: str | os.PathLike[str] | None = None) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.eml_dir = Path(eml_dir) if eml_dir is not None else None
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._faults = _Faults()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._protocols: set[SMTP] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "SmtpSink":
        if self._thread is not None:
            raise RuntimeError("SMTP sink already started")
        if self.eml_dir is not None:
            self.eml_dir.mkdir(parents=True, exist_ok=True)
        ready = threading.Event()
        errors: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready, errors), name="smtp-sink", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            raise OSError(f"SMTP sink cannot listen on {self.host}:{self._requested_port}: {errors[0]}")
        return self

    def _protocol(self) -> SMTP:
        protocol = _TrackedSMTP(self, _Handler(self), hostname="nurture-sink", enable_SMTPUTF8=True, loop=self._loop)
        return protocol

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                loop.create_server(self._protocol, self.host, self._requested_port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as exc:
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.abort()
        await self._server.wait_closed()
        asyncio.get_running_loop().stop()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._shutdown()))
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    async def __aenter__(self) -> "SmtpSink":
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ what arrived

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def messages(self) -> list[EmailMessage]:
        return [d.message for d in self.deliveries]

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until at least `count` messages arrived; raises TimeoutError otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._deliveries) >= count, timeout):
                raise TimeoutError(f"SMTP sink: {len(self._deliveries)} of {count} messages after {timeout}s")
            return [d.message for d in self._deliveries]

    async def wait_for_async(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """`wait_for` without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"SMTP sink: {len(self.deliveries)} of {count} messages after {timeout}s")
            await asyncio.sleep(0.01)
        return self.messages

    # ------------------------------------------------------------------ faults

    def fail_next(
        self, code: int = 451, times: int = 1, *, stage: str = "DATA", enhanced: str | None = None,
        text: str = "injected failure",
    ) -> None:
        """Answer the next `times` transactions at `stage` (MAIL, RCPT or DATA) with `code`."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}")
        reply = _reply(code, enhanced, text)
        with self._lock:
            self._faults.fail[stage].extend([reply] * times)

    def reject_recipient(self, address: str, code: int = 550, enhanced: str = "5.1.1", text: str = "user unknown") -> None:
        """Refuse `address` at RCPT until `clear_faults()`."""
        with self._lock:
            self._faults.rejected[address.lower()] = _reply(code, enhanced, f"<{address}>: {text}")

    def drop_connection_after_data(self, times: int = 1) -> None:
        with self._lock:
            self._faults.drops += times

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def _take_failure(self, stage: str) -> str | None:
        with self._lock:
            queue = self._faults.fail[stage]
            return queue.pop(0) if queue else None

    def _rejection(self, address: str) -> str | None:
        with self._lock:
            return self._faults.rejected.get(address.lower())

    def _take_drop(self) -> bool:
        with self._lock:
            if self._faults.drops > 0:
                self._faults.drops -= 1
                return True
            return False

    def _store(self, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        path = None
        if self.eml_dir is not None:
            path = self.eml_dir / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(path)
        with self._lock:
            self._deliveries.append(Delivery(mail_from, rcpt_tos, message, raw, path))
            self._lock.notify_all()


class _TrackedSMTP(SMTP):
    """Remembers open connections so stop() can close them."""

    def __init__(self, sink: SmtpSink, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink = sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sink._protocols.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sink._protocols.discard(self)
        super().connection_lost(error)
