"""The bounce mailbox: an SMTP listener (aiosmtpd) that receives DSNs and ARF complaints sent to
our VERP envelope senders (`bounce+<token>@<bounce domain>`, whose MX, or a relay's transport,
points here) and hands each mail to `handle` (marketing.bounce_mail.ingest, in practice).

It runs in aiosmtpd's own thread. `handle` runs on `loop` when given (the process's main loop,
where its Temporal client lives), else on the listener's loop. A mail that cannot be processed
(the store is down) is answered 451, so the sending MTA keeps it and retries; anything read,
report or not, is answered 250 (a mail that is not a report is dropped, logged).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # a DSN quoting a large message; beyond this: 552
# handle(raw message, envelope recipients) -> a one-line outcome (its `status` and `detail`)
Handle = Callable[[bytes, tuple[str, ...]], Awaitable[Any]]


class _Handler:
    def __init__(self, handle: Handle, loop: asyncio.AbstractEventLoop | None) -> None:
        self.handle, self.loop = handle, loop
        self.outcomes: list[Any] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        rcpts = tuple(envelope.rcpt_tos)
        try:
            if self.loop is None:
                outcome = await self.handle(raw, rcpts)
            else:
                outcome = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.handle(raw, rcpts), self.loop))
        except Exception:  # noqa: BLE001 - whatever failed, the MTA must keep the mail and retry
            log.exception("bounce mailbox: a report could not be processed; answered 451")
            return "451 4.3.0 cannot process the report now, try again later"
        self.outcomes.append(outcome)
        log.info("bounce mailbox: %s: %s", outcome.status, outcome.detail)
        return f"250 2.0.0 {outcome.status}"


class BounceListener:
    """`with BounceListener(handle, host, port) as listener:` (port 0: a free one, `listener.port`)."""

    def __init__(self, handle: Handle, host: str = "127.0.0.1", port: int = 0,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        from devstack.ports import free_port

        self.host = host
        port = port or free_port(host)
        self.handler = _Handler(handle, loop)
        self._controller = Controller(self.handler, hostname=host, port=port, data_size_limit=MAX_BYTES,
                                      server_hostname="nurture-bounces", ready_timeout=10)

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def outcomes(self) -> list[Any]:
        """What became of each mail received (tests, `cli.py dev`)."""
        return list(self.handler.outcomes)

    def start(self) -> "BounceListener":
        try:
            self._controller.start()
        except (OSError, RuntimeError) as exc:
            raise OSError(f"the bounce listener cannot listen on {self.host}:{self._controller.port}: {exc}") from None
        return self

    def stop(self) -> None:
        self._controller.stop(no_assert=True)

    def __enter__(self) -> "BounceListener":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def parse_host_port(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`HOST:PORT` or `PORT` -> (host, port); ValueError with one line otherwise."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bounces {text!r}: expected HOST:PORT, e.g. 127.0.0.1:2525")
    return host or default_host, int(port)


def mailbox_handle(store: Any, signer: Any, publish: Any, policy: Any = None) -> Handle:
    """The listener's `handle`: marketing.bounce_mail.ingest with this process's store and event path."""
    from marketing.bounce_mail import ingest

    async def handle(raw: bytes, rcpts: tuple[str, ...]) -> Any:
        return await ingest(store, signer, raw, publish, envelope_rcpts=rcpts, policy=policy)

    return handle
