"""The dev SMTP sink (driven by a real aiosmtplib client) and the Twilio-shaped SMS API (httpx)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from activities.email_build import compose_email
from compiler.ir import EmailTemplate
from devstack.sms_api import SmsApiServer
from devstack.smtp_sink import SmtpSink
from devstack.uvicorn_thread import UvicornThread
from tracking import twilio_signature
from tracking.tokens import TokenSigner

SIGNER = TokenSigner([b"sink-test-key-0123456789abcdef"])


def plain(subject: str, to: str = "ana@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "news@acme.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("hola ñ\n")
    return msg


async def send(sink: SmtpSink, msg: EmailMessage, **kwargs: object) -> tuple[dict, str]:  # type: ignore[type-arg]
    return await aiosmtplib.send(msg, hostname="127.0.0.1", port=sink.port, timeout=5, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sink(tmp_path: Path):  # type: ignore[no-untyped-def]
    with SmtpSink(eml_dir=tmp_path / "outbox") as running:
        yield running


# ---------------------------------------------------------------- SMTP sink


async def test_sink_keeps_a_built_email_intact(sink: SmtpSink, tmp_path: Path) -> None:
    built = compose_email(
        EmailTemplate(
            subject="Hola {{ contact.first_name }}",
            html='<html><body><a href="https://example.com/x">x</a> <a href="{{ unsubscribe_url }}">u</a></body></html>',
            text="x: https://example.com/x\n",
        ),
        {"contact": {"first_name": "Ána"}},
        to="Ána <ana@example.com>", sender="Acme <news@acme.test>", message_key="run|welcome|1",
        base_url="http://127.0.0.1:8025", signer=SIGNER, contact_id="c-9", domain="acme.test",
        date=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    )
    reply = await send(sink, built.message)
    assert reply[1] == "2.0.0 OK: queued"
    [received] = await sink.wait_for_async(1)
    delivery = sink.deliveries[0]
    assert delivery.mail_from == "news@acme.test" and delivery.rcpt_tos == ("ana@example.com",)
    assert received["Message-ID"] == built.message_id
    assert received["Subject"] == "Hola Ána"
    header = str(received["List-Unsubscribe"])
    assert f"List-Unsubscribe: {header}\r\n".encode() in delivery.raw  # on the wire verbatim, not RFC 2047
    assert re.fullmatch(r"<http://127\.0\.0\.1:8025/u/[A-Za-z0-9_-]+>", header), header
    assert SIGNER.verify(header[len("<http://127.0.0.1:8025/u/") : -1], "unsubscribe")["contact_id"] == "c-9"
    html = received.get_body(("html",)).get_content()  # type: ignore[union-attr]
    click = re.search(r'href="http://127\.0\.0\.1:8025/c/([^"]+)"', html)
    assert click and built.links[SIGNER.verify(click.group(1), "click")["link"]] == "https://example.com/x"
    # the same bytes on disk, as an .eml file
    [eml] = sorted((tmp_path / "outbox").glob("*.eml"))
    assert eml == delivery.path
    on_disk = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert on_disk["Message-ID"] == built.message_id


async def test_transient_failures_then_delivery(sink: SmtpSink) -> None:
    sink.fail_next(code=451, times=2)
    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError) as info:
            await send(sink, plain("retry me"))
        assert info.value.code == 451 and info.value.message.startswith("4.3.0")
    assert sink.messages == []
    await send(sink, plain("retry me"))
    assert [m["Subject"] for m in sink.messages] == ["retry me"]


async def test_failures_at_mail_and_rcpt(sink: SmtpSink) -> None:
    sink.fail_next(code=421, stage="MAIL", enhanced="4.7.0", text="busy")
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as sender_info:
        await send(sink, plain("a"))
    assert sender_info.value.code == 421 and sender_info.value.message == "4.7.0 busy"
    sink.fail_next(code=552, stage="RCPT")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(sink, plain("b"))
    await send(sink, plain("c"))
    assert [m["Subject"] for m in sink.messages] == ["c"]
    with pytest.raises(ValueError):
        sink.fail_next(code=250)
    with pytest.raises(ValueError):
        sink.fail_next(code=451, stage="QUIT")


async def test_rejected_recipient(sink: SmtpSink) -> None:
    sink.reject_recipient("Gone@Example.com")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        await send(sink, plain("x", to="gone@example.com"))
    [refused] = info.value.recipients
    assert (refused.code, refused.message) == (550, "5.1.1 <Gone@Example.com>: user unknown")
    # other recipients of the same message still get it
    errors, _ = await send(sink, plain("y"), recipients=["gone@example.com", "ok@example.com"])
    assert errors["gone@example.com"].code == 550
    assert sink.deliveries[0].rcpt_tos == ("ok@example.com",)
    sink.clear_faults()
    await send(sink, plain("z", to="gone@example.com"))
    assert len(sink.messages) == 2


async def test_connection_dropped_after_data_keeps_the_message(sink: SmtpSink) -> None:
    sink.drop_connection_after_data(times=1)
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await send(sink, plain("did it go?"))
    # the client never heard 250, yet the message was delivered
    assert [m["Subject"] for m in sink.messages] == ["did it go?"]
    await send(sink, plain("next"))
    assert [m["Subject"] for m in sink.messages] == ["did it go?", "next"]


def test_sync_use_wait_for_and_stop() -> None:
    sink = SmtpSink().start()
    port = sink.port
    try:
        with pytest.raises(TimeoutError, match="0 of 1 messages"):
            sink.wait_for(1, timeout=0.05)
        sender = threading.Thread(
            target=lambda: __import__("asyncio").run(
                aiosmtplib.send(plain("from a thread"), hostname="127.0.0.1", port=port)
            )
        )
        sender.start()
        assert [m["Subject"] for m in sink.wait_for(1, timeout=5)] == ["from a thread"]
        sender.join()
    finally:
        sink.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_port_in_use_is_a_clear_error() -> None:
    with SmtpSink() as first:
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            SmtpSink(port=first.port).start()


# ---------------------------------------------------------------- Twilio signature

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_twilio_signature_matches_twilios_published_example() -> None:
    assert twilio_signature.sign(TWILIO_URL, TWILIO_PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_signature.verify(TWILIO_URL, list(reversed(TWILIO_PARAMS.items())), "12345", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_twilio_signature_refusals_and_ports() -> None:
    good = twilio_signature.sign(TWILIO_URL, TWILIO_PARAMS, "12345")
    assert not twilio_signature.verify(TWILIO_URL, {**TWILIO_PARAMS, "Digits": "9"}, "12345", good)
    assert not twilio_signature.verify(TWILIO_URL.replace("bar=2", "bar=3"), TWILIO_PARAMS, "12345", good)
    assert not twilio_signature.verify(TWILIO_URL, TWILIO_PARAMS, "54321", good)
    assert not twilio_signature.verify(TWILIO_URL, TWILIO_PARAMS, "12345", None)
    assert not twilio_signature.verify(TWILIO_URL, TWILIO_PARAMS, "12345", "ünicode")
    # Twilio may have signed the URL with or without the default port
    assert twilio_signature.verify(TWILIO_URL.replace(".com/", ".com:443/"), TWILIO_PARAMS, "12345", good)
    with_port = twilio_signature.sign("https://h.test:443/x", {}, "t")
    assert twilio_signature.verify("https://h.test/x", {}, "t", with_port)
    assert not twilio_signature.verify("https://h.test:8443/x", {}, "t", with_port)
    # repeated fields: each distinct value once, sorted
    assert twilio_signature.sign("u", [("x", "2"), ("x", "1"), ("x", "1")], "t") == twilio_signature.sign(
        "u", [("x", "1"), ("x", "2")], "t"
    )


# ---------------------------------------------------------------- SMS API


class CallbackReceiver:
    """A real HTTP endpoint that records status callbacks and checks their signatures."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[dict[str, str], bool]] = []
        self.server = UvicornThread(Starlette(routes=[Route("/sms/status", self.handle, methods=["POST"])]), name="cb")

    async def handle(self, request: Request) -> PlainTextResponse:
        form = {k: str(v) for k, v in (await request.form()).items()}
        ok = twilio_signature.verify(str(request.url), form, self.token, request.headers.get(twilio_signature.HEADER))
        self.calls.append((form, ok))
        return PlainTextResponse("", status_code=204 if ok else 403)


@pytest.fixture(scope="module")
def sms():  # type: ignore[no-untyped-def]
    with SmsApiServer(account_sid="AC" + "1" * 32, auth_token="tok-123") as server:
        yield server


def post(server: SmsApiServer, data: dict[str, str], auth: tuple[str, str] | None = None, url: str | None = None) -> httpx.Response:
    return httpx.post(
        url or server.messages_url, data=data, auth=auth or (server.state.account_sid, "tok-123"), timeout=5
    )


def test_sms_api_accepts_and_answers_like_twilio(sms: SmsApiServer) -> None:
    before = len(sms.messages)
    reply = post(sms, {"To": "+34600111222", "From": "+15005550006", "Body": "Hola € " + "a" * 160})
    assert reply.status_code == 201
    data = reply.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", data["sid"])
    assert data["status"] == "queued" and data["num_segments"] == "2" and data["direction"] == "outbound-api"
    assert data["to"] == "+34600111222" and data["from"] == "+15005550006"
    assert data["account_sid"] == "AC" + "1" * 32
    assert data["uri"] == f"/2010-04-01/Accounts/{data['account_sid']}/Messages/{data['sid']}.json"
    kept = sms.messages[before]
    assert kept["sid"] == data["sid"] and kept["body"].startswith("Hola €")
    via_service = post(sms, {"To": "+34600111222", "MessagingServiceSid": "MG" + "2" * 32, "Body": "hi"})
    assert via_service.status_code == 201 and via_service.json()["messaging_service_sid"] == "MG" + "2" * 32


def test_sms_api_requires_basic_auth(sms: SmsApiServer) -> None:
    form = {"To": "+34600111222", "From": "+15005550006", "Body": "x"}
    before = len(sms.messages)
    assert httpx.post(sms.messages_url, data=form).status_code == 401
    bad = post(sms, form, auth=(sms.state.account_sid, "wrong"))
    assert bad.status_code == 401 and bad.json()["code"] == 20003
    other = f"{sms.url}/2010-04-01/Accounts/AC{'9' * 32}/Messages.json"
    assert post(sms, form, url=other).status_code == 401
    assert len(sms.messages) == before


def test_sms_api_validation_and_faults(sms: SmsApiServer) -> None:
    base = {"To": "+34600111222", "From": "+15005550006", "Body": "x"}
    before = len(sms.messages)
    assert post(sms, {**base, "To": "600111222"}).json()["code"] == 21211
    assert post(sms, {k: v for k, v in base.items() if k != "Body"}).json()["code"] == 21602
    assert post(sms, {k: v for k, v in base.items() if k != "From"}).json()["code"] == 21603
    sms.reject_number("+34600999999")
    rejected = post(sms, {**base, "To": "+34600999999"})
    assert rejected.status_code == 400 and rejected.json()["code"] == 21211
    sms.fail_next(500)
    sms.fail_next(429)
    assert [post(sms, base).status_code for _ in range(3)] == [500, 429, 201]
    assert len(sms.messages) == before + 1
    sms.state.clear_faults()
    assert post(sms, {**base, "To": "+34600999999"}).status_code == 201


def test_sms_api_posts_signed_status_callbacks(sms: SmsApiServer) -> None:
    receiver = CallbackReceiver("tok-123")
    with receiver.server:
        callback = f"{receiver.server.url}/sms/status"
        sid = post(sms, {"To": "+34600111222", "From": "+15005550006", "Body": "x", "StatusCallback": callback}).json()["sid"]
        deadline = time.monotonic() + 5
        while len(receiver.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(form["MessageSid"], form["MessageStatus"], ok) for form, ok in receiver.calls] == [
            (sid, "sent", True),
            (sid, "delivered", True),
        ]
        assert sms.send_status(sid, "undelivered", error_code=30003) == 204
        form, ok = receiver.calls[-1]
        assert (form["MessageStatus"], form["ErrorCode"], ok) == ("undelivered", "30003", True)
    # callbacks never leave 127.0.0.1
    sid = post(sms, {"To": "+34600111222", "From": "+1500", "Body": "x", "StatusCallback": "https://example.com/cb"}).json()["sid"]
    assert sms.send_status(sid, "delivered") == 0
