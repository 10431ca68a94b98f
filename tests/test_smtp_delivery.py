"""activities.smtp_delivery against the real aiosmtpd sink: what counts as "not sent" (retry),
"uncertain" (never resent) and a bounce, with the ledger's mark just before the final "."."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest

from activities.deps import SmtpConfig
from activities.smtp_delivery import PermanentFailure, TemporaryFailure, Uncertain, deliver
from devstack.smtp_sink import SmtpSink

pytestmark = pytest.mark.asyncio


class Pipe:
    """A TCP pipe in front of the sink that keeps what the client sent and can cut the line."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.upstream = b""
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [client_w, server_w]

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bool) -> None:
            while data := await reader.read(65536):
                if keep:
                    self.upstream += data
                writer.write(data)
            writer.close()

        await asyncio.gather(pump(client_r, server_w, True), pump(server_r, client_w, False), return_exceptions=True)

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()

    async def stop(self) -> None:
        self.cut()
        assert self.server is not None
        self.server.close()


class Killed(Exception):
    """Stands for the worker dying at the moment the ledger is marked."""


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


def message(subject: str, body: str = "hello\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "news@acme.test", "ana@example.com", subject
    msg.set_content(body)
    return msg


async def send(sink: SmtpSink, msg: EmailMessage, before_end=None) -> list[str]:
    marks: list[str] = []

    async def mark() -> None:
        marks.append("transmitting")
        if before_end is not None:
            await before_end()

    await deliver(SmtpConfig(port=sink.port), msg, "news@acme.test", ["ana@example.com"], mark)
    return marks


async def test_the_content_arrives_as_written_lines_starting_with_a_dot_included(sink: SmtpSink) -> None:
    body = "first\n.\n.hidden line\n..two dots\nlast\n"
    assert await send(sink, message("dots", body)) == ["transmitting"]
    [got] = sink.wait_for(1, timeout=5)
    assert got["Subject"] == "dots"
    assert got.get_content().replace("\r\n", "\n") == body  # the sink keeps the wire's CRLF


async def test_dying_before_the_final_dot_delivers_nothing_and_a_retry_delivers_once(sink: SmtpSink) -> None:
    async def die() -> None:
        raise Killed

    with pytest.raises(Killed):
        await send(sink, message("first attempt"), before_end=die)
    await asyncio.sleep(0.3)  # the sink sees the connection end without the final "."
    assert sink.messages == []
    await send(sink, message("retry"))
    assert [m["Subject"] for m in sink.wait_for(1, timeout=5)] == ["retry"]


async def test_a_line_lost_before_the_final_dot_is_retried_not_uncertain(sink: SmtpSink) -> None:
    """The ledger is marked only once the content is on the wire: a connection lost then has
    delivered nothing (the server never saw the final "."), so the send is retried."""
    pipe = Pipe(sink.port)
    port = await pipe.start()
    seen: list[bytes] = []

    async def cut_at_the_mark() -> None:
        await asyncio.sleep(0.2)  # the content reaches the server
        seen.append(pipe.upstream)
        pipe.cut()
        await asyncio.sleep(0.1)

    try:
        with pytest.raises(TemporaryFailure):
            await deliver(SmtpConfig(port=port), message("cut", "the content\n"), "news@acme.test", ["ana@example.com"],
                          cut_at_the_mark)
    finally:
        await pipe.stop()
    assert b"DATA\r\n" in seen[0] and b"the content\r\n" in seen[0] and not seen[0].endswith(b"\r\n.\r\n")
    await asyncio.sleep(0.2)
    assert sink.messages == []


async def test_answers_after_the_final_dot(sink: SmtpSink) -> None:
    sink.fail_next(code=451, stage="DATA")
    with pytest.raises(TemporaryFailure):
        await send(sink, message("busy"))
    sink.fail_next(code=550, stage="DATA", enhanced="5.7.1")
    with pytest.raises(PermanentFailure) as refused:
        await send(sink, message("refused"))
    assert (refused.value.code, refused.value.enhanced) == (550, "5.7.1")
    sink.drop_connection_after_data()
    with pytest.raises(Uncertain):  # delivered, but the client never heard 250
        await send(sink, message("did it go?"))
    assert [m["Subject"] for m in sink.wait_for(1, timeout=5)] == ["did it go?"]


async def test_nothing_listening_is_a_temporary_failure_before_any_mark() -> None:
    sink = SmtpSink().start()
    port = sink.port
    sink.stop()
    marks: list[str] = []

    async def mark() -> None:
        marks.append("transmitting")

    with pytest.raises(TemporaryFailure):
        await deliver(SmtpConfig(port=port, timeout=2), message("x"), "news@acme.test", ["ana@example.com"], mark)
    assert marks == []
