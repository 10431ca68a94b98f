"""Machine opens (tracking/bots.py open_bot_reason) through the real app on a real store (SQLite
and PostgreSQL), with real user-agent strings: Apple Mail Privacy Protection, security scanners,
opens right after the send and opens without a user agent are recorded with likely_bot and a
bot_reason; Gmail's and Yahoo's image proxies and real mail clients are human opens; the report
counts them apart."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from compiler import ir
from marketing.report import journey_report
from tests.journey_builder import journey
from tests.tracking_helpers import MESSAGE_ID, PUBLIC_URL, make_app, seed, temporal_client, token
from tracking import tokens
from tracking.bots import BotRules

pytestmark = pytest.mark.asyncio
_ = temporal_client  # the module's Temporal fixture

GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)"
IPHONE_MAIL = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Mobile/15E148")
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"
BARRACUDA = "Barracuda Sentinel (EE)"
HOME_IP, APPLE_IP = "203.0.113.7", "17.58.101.12"


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


async def open_once(app, cid: int, user_agent: str | None, ip: str = HOME_IP, message_id: str = MESSAGE_ID) -> dict:
    """GET the open pixel as `user_agent` (None: no User-Agent header) from `ip`; the open's data."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4711))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as c:
        if user_agent is None:
            del c.headers["user-agent"]
        else:
            c.headers["user-agent"] = user_agent
        r = await c.get(f"/o/{token(tokens.OPEN, cid, message_id=message_id)}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    [opened] = store_of(app).events_for(cid, type="email.opened")
    return opened.data


def store_of(app):
    return app.state.tracking.store


@pytest.mark.parametrize(("user_agent", "ip", "reason"), [
    ("Mozilla/5.0", APPLE_IP, "apple_mpp"),  # MPP's proxy: the bare agent, from Apple's network
    ("Mozilla/5.0", HOME_IP, "apple_mpp"),  # behind a reverse proxy: the agent alone tells
    (IPHONE_MAIL, APPLE_IP, "apple_mpp"),  # Apple's network
    (BARRACUDA, HOME_IP, "scanner_user_agent"),
    ("python-requests/2.31.0", HOME_IP, "scanner_user_agent"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", HOME_IP, "scanner_user_agent"),
    (None, HOME_IP, "no_user_agent"),
    ("  ", HOME_IP, "no_user_agent"),
])
async def test_machine_opens_are_likely_bots(store, app, user_agent, ip, reason):
    cid = seed(store)
    data = await open_once(app, cid, user_agent, ip)
    assert data == {"bot_reason": reason, "likely_bot": True}


@pytest.mark.parametrize(("user_agent", "data"), [
    (GMAIL, {"proxy": "google"}),  # Gmail fetches when its user opens: a human, cached
    (YAHOO, {"proxy": "yahoo"}),
    (OUTLOOK, {}),
    (IPHONE_MAIL, {}),  # Apple Mail without MPP: its full agent, from the person's network
    (THUNDERBIRD, {}),
])
async def test_people_and_their_providers_image_proxies_are_human_opens(store, app, user_agent, data):
    cid = seed(store)
    assert await open_once(app, cid, user_agent) == data


async def test_an_open_seconds_after_the_send_is_a_scanner(store, app):
    cid = seed(store, sent_ago_s=1)
    assert await open_once(app, cid, THUNDERBIRD) == {"bot_reason": "soon_after_send", "likely_bot": True}


async def test_the_open_window_is_configurable(store, temporal_client):
    cid = seed(store, sent_ago_s=20)
    app = make_app(store, temporal_client, bots=BotRules(open_after_send_s=30))
    assert (await open_once(app, cid, GMAIL))["bot_reason"] == "soon_after_send"


async def test_the_report_counts_machine_opens_as_bots(store, app):
    """An MPP open is a bot open in the report; a Gmail proxy open of another message is human."""
    j = journey(ir.SendEmail(id="hello", template="hello"), emails=["hello"])
    j = ir.Journey.from_dict(dataclasses.replace(j, id="welcome").to_dict())  # the journey of seed()'s messages
    other = "<fedcba9876543210fedcba9876543210@nurture.local>"
    mpp, gmail = seed(store, email="mpp@example.com"), seed(store, email="g@example.com", message_id=other)
    await open_once(app, mpp, "Mozilla/5.0", APPLE_IP)
    await open_once(app, gmail, GMAIL, message_id=other)
    [hello] = [s for s in journey_report(store, j)["steps"] if s["id"] == "hello"]
    assert (hello["sent"], hello["opened"], hello["opened_bot"]) == (2, 1, 1)
