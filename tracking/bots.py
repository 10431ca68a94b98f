"""Likely-bot clicks: security scanners and link prefetchers click within seconds of
delivery, or click every link of a message at once. Such clicks are recorded with
`likely_bot` and do not move journeys (engine.events.publish)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from store import Message


@dataclass(frozen=True)
class BotRules:
    after_send_s: float = 2.0  # a click sooner than this after the send is a bot
    burst_s: float = 1.0  # clicks on many distinct links of one message within this window ...
    burst_links: int = 3  # ... this many (or every link, for messages with fewer) is a bot


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
