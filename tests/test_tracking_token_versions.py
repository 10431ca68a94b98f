"""Links already in mailboxes carry version 1 tokens (signed, readable JSON): the tracking server
still honours them, while every link it issues now is opaque; a tampered old token changes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.tracking_helpers import LINKS, MESSAGE_ID, SIGNER, counts, http, make_app, seed, tamper, token
from tracking import tokens
from tracking.tokens import DEV_KEY

pytestmark = pytest.mark.asyncio


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def v1_token(kind: str, **fields: Any) -> str:
    """A token as the version 1 code issued it: base64url(JSON with short keys) "." base64url(MAC)."""
    payload = {"t": kind, **{tokens._SHORT[name]: value for name, value in sorted(fields.items())}}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(SIGNER._mac(DEV_KEY, body))}"


@pytest.fixture
async def app(store):
    return make_app(store)  # no Temporal: clicks and opens are still recorded


async def test_an_old_click_link_still_redirects_and_is_recorded(store, app):
    cid = seed(store)
    async with http(app) as c:
        r = await c.get(f"/c/{v1_token(tokens.CLICK, message_id=MESSAGE_ID, link=1, contact_id=cid)}")
        opened = await c.get(f"/o/{v1_token(tokens.OPEN, message_id=MESSAGE_ID, contact_id=cid)}")
    assert r.status_code == 302 and r.headers["location"] == LINKS[1]
    [clicked] = store.events_for(cid, type="email.clicked")
    assert clicked.message_id == MESSAGE_ID and clicked.data == {"link": 1, "url": LINKS[1]}
    assert opened.status_code == 200 and len(store.events_for(cid, type="email.opened")) == 1


async def test_a_tampered_old_link_changes_nothing(store, app):
    cid = seed(store)
    before = counts(store)
    async with http(app) as c:
        r = await c.get(f"/c/{tamper(v1_token(tokens.CLICK, message_id=MESSAGE_ID, link=1, contact_id=cid))}")
    assert r.status_code == 400 and "location" not in r.headers
    assert counts(store) == before


async def test_links_issued_now_are_opaque(store, app):
    cid = seed(store)
    new = token(tokens.CLICK, cid, link=1)
    assert "." not in new and MESSAGE_ID[1:33] not in base64.urlsafe_b64decode(new + "=" * (-len(new) % 4)).hex()
    async with http(app) as c:
        r = await c.get(f"/c/{new}")
    assert r.status_code == 302 and r.headers["location"] == LINKS[1]
