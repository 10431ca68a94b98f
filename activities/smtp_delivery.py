"""One SMTP transaction, classified so the caller knows whether the message went.

The conversation is driven step by step so that a failure before DATA
("definitely not sent", safe to retry) is told apart from a failure during DATA
("may have been delivered", never retried: the send ledger marks it uncertain).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Awaitable, Callable

import aiosmtplib

from activities.deps import SmtpConfig

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class TemporaryFailure(Exception):
    """4xx or a connection problem before DATA: nothing was delivered; retry later.
    Its text holds codes only (it ends up in workflow history, where no address may go);
    the server's full reply is kept in `.reply` for the ledger."""

    def __init__(self, summary: str, reply: str = "") -> None:
        super().__init__(summary)
        self.reply = reply


class PermanentFailure(Exception):
    """5xx: the server refused the message for good."""

    def __init__(self, code: int, enhanced: str, message: str) -> None:
        super().__init__(f"{code} {enhanced}".strip())
        self.code = code
        self.enhanced = enhanced
        self.message = message

    @property
    def bad_address(self) -> bool:
        """5.1.x: the mailbox does not exist or the address is invalid."""
        return self.enhanced.startswith("5.1.")


class Uncertain(Exception):
    """The connection failed during DATA: the message may or may not have been delivered."""


def _enhanced(text: str) -> str:
    m = _ENHANCED.search(text or "")
    return m.group(1) if m else ""


def _raise_for(code: int, text: str) -> None:
    if 400 <= code < 500:
        raise TemporaryFailure(f"SMTP {code} {_enhanced(text)}".strip(), reply=f"{code} {text}")
    if code >= 500:
        raise PermanentFailure(code, _enhanced(text), text)


async def deliver(
    config: SmtpConfig,
    message: EmailMessage,
    sender: str,
    recipients: list[str],
    before_data: Callable[[], Awaitable[None]],
) -> None:
    """Send `message`; `before_data` runs just before DATA (it marks the ledger "transmitting")."""
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=config.start_tls,
        timeout=config.timeout,
        username=config.username,
        password=config.password,
    )
    try:
        await client.connect()
        response = await client.mail(sender)
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                _raise_for(exc.code, exc.message)
        await before_data()
        try:
            response = await client.data(message.as_bytes())
        except aiosmtplib.SMTPResponseException as exc:
            _raise_for(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise Uncertain(type(exc).__name__) from exc
        _raise_for(response.code, response.message)
    except aiosmtplib.SMTPResponseException as exc:
        _raise_for(exc.code, exc.message)
        raise TemporaryFailure(f"SMTP {exc.code}", reply=str(exc)) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TemporaryFailure(type(exc).__name__, reply=str(exc)) from exc
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
