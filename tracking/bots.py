"""Likely-bot clicks and opens, recorded with `data.likely_bot` and `data.bot_reason`: they do
not move journeys (engine.events.publish) and the report counts them apart.

Clicks: security scanners and link prefetchers click within seconds of delivery, or click every
link of a message at once.

Opens (the pixel fetch), judged the way ESPs judge "machine opens", first match wins:
- `no_user_agent`: no User-Agent header (no mail client sends none);
- `scanner_user_agent`: a security gateway or an HTTP library fetched it (SCANNER_AGENTS);
- `apple_mpp`: Apple Mail Privacy Protection's proxy, which fetches every message's images when
  the message arrives, read or not: its User-Agent is exactly `Mozilla/5.0`, and it comes from
  Apple's own network (APPLE_NETWORKS). Behind a reverse proxy the client address is the proxy's
  unless the server trusts X-Forwarded-For (uvicorn --proxy-headers); the user agent still tells;
- `soon_after_send`: sooner than `open_after_send_s` after the send (a scanner at delivery).
An image proxy that fetches when the person opens the message (Gmail's `GoogleImageProxy`,
Yahoo's `YahooMailProxy`) is a human open: the proxy caches the image, so later opens of the same
message are not seen, which undercounts repeat opens, not people. It is recorded with
`data.proxy` (`google`, `yahoo`).

Sources of the lists (no network here, so they are shipped, small and conservative): Apple's
ARIN allocation 17.0.0.0/8 (APPLE-WWNET), from which MPP's proxy fetches, as ESPs' MPP notes
report (Litmus, SparkPost, Adobe Campaign's "Apple Mail Privacy Protection" technote); the
scanner names are the gateways ESPs and GMass's "false opens" write-up
(https://www.gmass.co/blog/false-opens-in-gmail/) name; the proxies' user agents are as Google
and Yahoo document them (`... (via ggpht.com GoogleImageProxy)`, `YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from store import Message


@dataclass(frozen=True)
class BotRules:
    after_send_s: float = 2.0  # a click sooner than this after the send is a bot
    burst_s: float = 1.0  # clicks on many distinct links of one message within this window ...
    burst_links: int = 3  # ... this many (or every link, for messages with fewer) is a bot
    open_after_send_s: float = 5.0  # an open sooner than this after the send is a scanner's


APPLE_MPP_AGENT = "Mozilla/5.0"  # the whole User-Agent of Apple's MPP proxy
APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)  # Apple's own address block (ARIN APPLE-WWNET)
SCANNER_AGENTS = re.compile(
    r"barracuda|mimecast|proofpoint|messagelabs|symantec|trend ?micro|forcepoint|sophos|fortiguard|ironport"
    r"|zscaler|appriver|avanan|check ?point|hubspot connect|amazon cloudfront|headlesschrome|phantomjs"
    r"|python-requests|python-httpx|python-urllib|aiohttp|^curl/|^wget/|go-http-client|^java/|okhttp|^ahc/"
    r"|\bbot\b|[a-z]bot/|crawler|spider", re.I)
HUMAN_PROXIES = (("GoogleImageProxy", "google"), ("YahooMailProxy", "yahoo"))


def sent_at(store, message: Message, now: datetime) -> datetime:
    """When the message went out: its `*.sent` event, else when it was stored. An event stamped
    in the future (a simulation's clock) is not believed."""
    times = [e.at for e in store.events_for(message.contact_id, type=f"{message.channel}.sent")
             if e.message_id == message.message_id and e.at <= now]
    return max(times, default=message.created_at)


def click_bot_reason(store, message: Message, link: int, now: datetime, rules: BotRules) -> str | None:
    """Why this click looks automated ("soon_after_send", "link_burst"), or None."""
    if (now - sent_at(store, message, now)).total_seconds() < rules.after_send_s:
        return "soon_after_send"
    if len(message.links) < 2:
        return None
    recent = store.events_for(message.contact_id, type="email.clicked", since=now - timedelta(seconds=rules.burst_s))
    links = {e.data.get("link") for e in recent if e.message_id == message.message_id} | {link}
    if len(links) >= min(rules.burst_links, len(message.links)):
        return "link_burst"
    return None


def _apple_address(ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in net for net in APPLE_NETWORKS)


def open_bot_reason(store, message: Message, user_agent: str | None, ip: str | None, now: datetime,
                    rules: BotRules) -> str | None:
    """Why this open looks automated (see the module docstring), or None for a human open."""
    agent = (user_agent or "").strip()
    if not agent:
        return "no_user_agent"
    if SCANNER_AGENTS.search(agent):
        return "scanner_user_agent"
    if agent == APPLE_MPP_AGENT or _apple_address(ip):
        return "apple_mpp"
    if (now - sent_at(store, message, now)).total_seconds() < rules.open_after_send_s:
        return "soon_after_send"
    return None


def image_proxy(user_agent: str | None) -> str | None:
    """`google` / `yahoo` when a mail provider's image proxy fetched the pixel for its user."""
    return next((name for mark, name in HUMAN_PROXIES if mark in (user_agent or "")), None)
