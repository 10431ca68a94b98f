"""Twilio webhooks: signed status callbacks and inbound STOP / START / HELP replies."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devstack.sms_api import SmsApiServer
from devstack.uvicorn_thread import UvicornThread
from tests.tracking_helpers import PUBLIC_URL, TWILIO_TOKEN, counts, event_types, http, make_app, seed, temporal_client
from tracking import twilio_signature

pytestmark = pytest.mark.asyncio
_ = temporal_client
PHONE = "+14155550123"
SID = "SM" + "ab" * 16


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


def signed(path: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> dict[str, str]:
    return {twilio_signature.HEADER: twilio_signature.sign(PUBLIC_URL + path, params, token)}


def sms_sent(store, cid: int, message_id: str = "<sms-1@nurture.local>") -> None:
    store.record_event(cid, "sms.sent", message_id=message_id, data={"provider_sid": SID, "segments": 1})


def inbound(body: str, phone: str = PHONE) -> dict[str, str]:
    return {"From": phone, "To": "+15005550006", "Body": body, "MessageSid": "SM" + "cd" * 16}


# ------------------------------------------------------------------ status callbacks

@pytest.mark.parametrize("status,expected", [("delivered", "sms.delivered"), ("undelivered", "sms.failed"),
                                             ("failed", "sms.failed")])
async def test_status_callback_records_delivery(store, app, status, expected):
    cid = seed(store)
    sms_sent(store, cid)
    params = {"MessageSid": SID, "MessageStatus": status, "To": PHONE, "From": "+15005550006"}
    async with http(app) as c:
        r = await c.post("/sms/status", data=params, headers=signed("/sms/status", params))
    assert r.status_code == 200
    [event] = store.events_for(cid, type=expected)
    assert event.message_id == "<sms-1@nurture.local>" and event.data["provider_sid"] == SID


@pytest.mark.parametrize("headers", ["none", "wrong_token", "other_url", "changed_field"])
async def test_unsigned_or_mis_signed_webhooks_get_403_and_change_nothing(store, app, headers):
    cid = seed(store)
    sms_sent(store, cid)
    status = {"MessageSid": SID, "MessageStatus": "delivered", "To": PHONE}
    stop = inbound("STOP")
    sig = {
        "none": lambda path, p: {},
        "wrong_token": lambda path, p: signed(path, p, token="not-the-token"),
        "other_url": lambda path, p: signed(path + "x", p),
        "changed_field": lambda path, p: signed(path, {**p, "To": "+14155550199"}),
    }[headers]
    before = counts(store)
    async with http(app) as c:
        r1 = await c.post("/sms/status", data=status, headers=sig("/sms/status", status))
        r2 = await c.post("/sms/inbound", data=stop, headers=sig("/sms/inbound", stop))
    assert r1.status_code == r2.status_code == 403
    assert counts(store) == before and store.suppression_reason("sms", PHONE) is None


async def test_status_callback_for_an_unknown_message_records_nothing(store, app):
    cid = seed(store)
    params = {"MessageSid": "SMunknown", "MessageStatus": "delivered", "To": PHONE}
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/sms/status", data=params, headers=signed("/sms/status", params))
    assert r.status_code == 200 and counts(store) == before and cid


async def test_real_sms_api_callbacks_verify_against_the_public_url(store):
    """The dev SMS API signs its callbacks like Twilio; served on 127.0.0.1, the app accepts them."""
    cid = seed(store)
    app = make_app(store, None)
    with UvicornThread(app, name="tracking") as tracking, SmsApiServer(auth_token=TWILIO_TOKEN) as sms:
        app.state.tracking.public_url = tracking.url  # what the provider was given
        form = {"To": PHONE, "From": "+15005550006", "Body": "hi", "StatusCallback": f"{tracking.url}/sms/status"}
        sid = httpx.post(sms.messages_url, data=form, auth=(sms.state.account_sid, TWILIO_TOKEN)).json()["sid"]
        store.record_event(cid, "sms.sent", message_id="<sms-2@nurture.local>", data={"provider_sid": sid})
        deadline = time.monotonic() + 5
        while "sms.delivered" not in event_types(store, cid) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    [delivered] = store.events_for(cid, type="sms.delivered")
    assert delivered.data["provider_sid"] == sid and delivered.message_id == "<sms-2@nurture.local>"
    assert [c["reply_status"] for c in sms.state.callbacks] == [200, 200]


# ------------------------------------------------------------------ inbound replies

@pytest.mark.parametrize("word", ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "cancel", "END", "quit."])
async def test_stop_withdraws_sms_and_suppresses_the_number(store, app, word):
    cid = seed(store)
    store.record_consent(cid, "sms", "marketing", "granted", source="signup form")
    params = inbound(word)
    async with http(app) as c:
        r = await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert r.text.startswith('<?xml') and "<Response><Message>You are unsubscribed" in r.text
    assert store.consent_state(cid, "sms", "marketing").status == "withdrawn"
    assert store.suppression_reason("sms", PHONE) == "stop"
    assert store.consent_state(cid, "email", "marketing").status == "granted"  # other channels untouched
    assert store.events_for(cid, type="sms.replied")[0].data["keyword"] == word.upper().strip(".")


async def test_start_regrants_sms_marketing_only(store, app):
    cid = seed(store)
    store.record_consent(cid, "sms", "marketing", "withdrawn", source="sms STOP")
    store.record_consent(cid, "sms", "product-updates", "withdrawn", source="sms STOP")
    params = inbound("START")
    async with http(app) as c:
        r = await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))
    assert r.status_code == 200 and "subscribed to Nurture messages again" in r.text
    state = store.consent_state(cid, "sms", "marketing")
    assert (state.status, state.source, state.wording_version) == ("granted", "sms START", "2024-06-01")
    assert store.consent_state(cid, "sms", "product-updates").status == "withdrawn"


async def test_start_after_stop_lifts_only_the_stop_suppression(store, app):
    cid = seed(store)
    phone = store.get_contact(cid).phone
    async with http(app) as c:
        for word in ("STOP", "START"):
            params = inbound(word)
            assert (await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))).status_code == 200
    assert store.suppression_reason("sms", phone) is None
    assert store.consent_state(cid, "sms", "marketing").status == "granted"
    # a do-not-contact entry is not the person's to lift by text message
    store.suppress("sms", phone, reason="dnc", source="Robinson list")
    params = inbound("START")
    async with http(app) as c:
        await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))
    assert store.suppression_reason("sms", phone) == "dnc"


async def test_help_answers_with_help(store, app):
    cid = seed(store)
    params = inbound("help")
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))
    assert r.status_code == 200 and "Reply STOP to unsubscribe" in r.text
    assert counts(store)[1] == before[1]  # no consent change
    assert event_types(store, cid)[-1] == "sms.replied"


@pytest.mark.parametrize("phone", ["+14155550199", "not a number", ""])
async def test_unknown_number_gets_empty_twiml_and_nothing_is_recorded(store, app, phone):
    seed(store)
    params = inbound("STOP", phone=phone)
    before = counts(store)
    async with http(app) as c:
        r = await c.post("/sms/inbound", data=params, headers=signed("/sms/inbound", params))
    assert r.status_code == 200 and r.text.endswith("<Response></Response>")
    assert counts(store) == before
