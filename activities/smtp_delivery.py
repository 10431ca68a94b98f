"""One SMTP transaction, classified so the caller knows whether the message went.

The conversation is driven step by step so that a failure before the final "." of DATA
("definitely not sent", safe to retry) is told apart from one after it ("may have been
delivered", never retried: the send ledger marks it uncertain).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Awaitable, Callable

import aiosmtplib

from activities.deps import SmtpConfig

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class TemporaryFailure(Exception):
    """4xx, or a connection problem before the end of DATA: nothing was delivered; retry later.
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


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def data_lines(message: EmailMessage) -> bytes:
    """The message as DATA content without the final ".": CRLF line ends, a line starting with
    "." doubled (RFC 5321 4.5.2)."""
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    raw = _LEADING_DOT.sub(b"..", raw)
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


async def deliver(
    config: SmtpConfig,
    message: EmailMessage,
    sender: str,
    recipients: list[str],
    before_end: Callable[[], Awaitable[None]],
) -> None:
    """Send `message`. DATA goes in two parts: the content, then, after `before_end` (which marks
    the ledger "transmitting"), the line "." that ends it. A server discards a message whose
    final "." never came, so a failure (or a killed worker) before that line is "not sent" and
    retried; only one between the "." and the server's answer is uncertain."""
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=config.start_tls,
        timeout=config.timeout,
        username=config.username,
        password=config.password,
    )
    in_data = False
    try:
        await client.connect()
        response = await client.mail(sender)
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                _raise_for(exc.code, exc.message)
        start = await client.execute_command(b"DATA")
        if start.code != 354:
            _raise_for(start.code, start.message)
            raise TemporaryFailure(f"SMTP {start.code}", reply=f"{start.code} {start.message}")
        assert client.protocol is not None
        in_data = True  # until the server answers the final ".", QUIT would be read as content
        client.protocol.write(data_lines(message))
        await before_end()
        if not client.is_connected:  # lost during the content: the "." never left, nothing was delivered
            raise TemporaryFailure("connection lost during DATA", reply="connection lost before the end of DATA")
        try:
            response = await client.execute_command(b".")
        except aiosmtplib.SMTPResponseException as exc:
            _raise_for(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise Uncertain(type(exc).__name__) from exc
        in_data = False
        _raise_for(response.code, response.message)
    except aiosmtplib.SMTPResponseException as exc:
        _raise_for(exc.code, exc.message)
        raise TemporaryFailure(f"SMTP {exc.code}", reply=str(exc)) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TemporaryFailure(type(exc).__name__, reply=str(exc)) from exc
    finally:
        if client.is_connected and in_data:
            client.close()  # the server discards a message whose final "." never came
        elif client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
