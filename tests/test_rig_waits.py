"""bench.harness waits fail on a stall (nothing new for `stall` s), not after a fixed total: on a
busy machine a slow but steady stream of messages still passes, a stopped one fails at once."""

from __future__ import annotations

import asyncio
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from bench.harness import Rig
from devstack.smtp_sink import SmtpSink


@pytest.fixture
def rig(tmp_path: Path):
    """A Rig with only its SMTP sink started (what until_delivered reads)."""
    r = Rig(tmp_path)
    r.sink = SmtpSink().start()
    yield r
    r.sink.stop()


def send(port: int, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", subject
    msg.set_content("hi")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(msg)


async def test_a_slow_steady_stream_passes_though_it_takes_longer_than_the_stall(rig: Rig) -> None:
    async def trickle() -> None:
        for i in range(4):
            await asyncio.to_thread(send, rig.sink.port, f"first {i}")
            await asyncio.sleep(0.6)

    started = time.monotonic()
    sender = asyncio.create_task(trickle())
    await rig.until_delivered(4, stall=1.5, which=lambda d: str(d.message["Subject"]).startswith("first"))
    assert time.monotonic() - started > 1.5  # more than the stall in total: a fixed total would have failed
    await sender


async def test_a_stopped_stream_fails_after_the_stall_naming_the_count(rig: Rig) -> None:
    send(rig.sink.port, "first 0")
    with pytest.raises(AssertionError, match="only 1 of 2 messages arrived, none for 1 s"):
        await rig.until_delivered(2, stall=1.0)
