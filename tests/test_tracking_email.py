"""Open pixel, click redirect (and likely bots), unsubscribe (RFC 8058) and double opt-in
confirmation against the real app and a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

import pytest

from tests.tracking_helpers import (
    LINKS, MESSAGE_ID, OTHER_SIGNER, counts, event_types, http, make_app, seed, tamper, temporal_client, token,
)
from tracking import tokens
from tracking.bots import BotRules
from tracking.email_routes import PIXEL

pytestmark = pytest.mark.asyncio
_ = temporal_client  # the module's Temporal fixture


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


# ------------------------------------------------------------------ open pixel

async def test_open_records_the_open_with_its_message(store, app):
    cid = seed(store)
    async with http(app) as c:
        r = await c.get(f"/o/{token(tokens.OPEN, cid)}")
    assert r.status_code == 200 and r.content == PIXEL and r.headers["content-type"] == "image/gif"
    assert r.headers["cache-control"] == "no-store"
    opened = store.events_for(cid, type="email.opened")
    assert [e.message_id for e in opened] == [MESSAGE_ID]


@pytest.mark.parametrize("bad", ["forged", "tampered", "wrong_kind", "garbage", "unknown_message"])
async def test_bad_open_tokens_still_get_the_pixel_but_record_nothing(store, app, bad):
    cid = seed(store)
    tok = {
        "forged": lambda: token(tokens.OPEN, cid, signer=OTHER_SIGNER),
        "tampered": lambda: tamper(token(tokens.OPEN, cid)),
        "wrong_kind": lambda: token(tokens.CLICK, cid),
        "garbage": lambda: "not-a-token",
        "unknown_message": lambda: token(tokens.OPEN, cid, message_id="<nope@nurture.local>"),
    }[bad]()
    before = counts(store)
    async with http(app) as c:
        r = await c.get(f"/o/{tok}")
    assert r.status_code == 200 and r.content == PIXEL and r.headers["cache-control"] == "no-store"
    assert counts(store) == before


# ------------------------------------------------------------------ clicks

async def test_click_redirects_to_the_stored_url_and_records_it(store, app):
    cid = seed(store)
    async with http(app) as c:
        r = await c.get(f"/c/{token(tokens.CLICK, cid, link=1)}")
    assert r.status_code == 302 and r.headers["location"] == LINKS[1]
    [clicked] = store.events_for(cid, type="email.clicked")
    assert clicked.message_id == MESSAGE_ID and clicked.data == {"link": 1, "url": LINKS[1]}


async def test_click_never_follows_a_url_from_the_query_string(store, app):
    cid = seed(store)
    async with http(app) as c:
        r = await c.get(f"/c/{token(tokens.CLICK, cid)}", params={"url": "https://evil.test/", "next": "//evil.test"})
    assert r.status_code == 302 and r.headers["location"] == LINKS[0]


@pytest.mark.parametrize("bad", ["forged", "tampered", "wrong_kind", "open_redirect", "unknown_message",
                                 "unknown_link", "other_contact"])
async def test_click_refusals_change_nothing(store, app, bad):
    cid = seed(store)
    other = store.create_contact(email="eve@example.com")
    cases = {
        "forged": (400, lambda: token(tokens.CLICK, cid, signer=OTHER_SIGNER)),
        "tampered": (400, lambda: tamper(token(tokens.CLICK, cid))),
        "wrong_kind": (400, lambda: token(tokens.OPEN, cid)),
        "open_redirect": (400, lambda: "x.y?url=https://evil.test/&next=https://evil.test/"),
        "unknown_message": (404, lambda: token(tokens.CLICK, cid, message_id="<gone@nurture.local>")),
        "unknown_link": (404, lambda: token(tokens.CLICK, cid, link=len(LINKS))),
        "other_contact": (404, lambda: token(tokens.CLICK, other)),
    }
    status, make = cases[bad]
    before = counts(store)
    async with http(app) as c:
        r = await c.get(f"/c/{make()}")
    assert r.status_code == status and "location" not in r.headers
    assert "evil" not in r.text
    assert counts(store) == before


async def test_click_right_after_the_send_is_a_likely_bot(store, app):
    cid = seed(store, sent_ago_s=0.2)
    async with http(app) as c:
        r = await c.get(f"/c/{token(tokens.CLICK, cid)}")
    assert r.status_code == 302  # the person (or scanner) still gets where the link goes
    [clicked] = store.events_for(cid, type="email.clicked")
    assert clicked.data["likely_bot"] is True and clicked.data["bot_reason"] == "soon_after_send"


async def test_clicking_every_link_at_once_is_a_likely_bot(store, app):
    cid = seed(store)
    async with http(app) as c:
        for i in range(len(LINKS)):
            assert (await c.get(f"/c/{token(tokens.CLICK, cid, link=i)}")).status_code == 302
    flags = [e.data.get("likely_bot", False) for e in store.events_for(cid, type="email.clicked")]
    assert flags == [False, False, True]


async def test_bot_window_is_configurable(store, temporal_client):
    cid = seed(store, sent_ago_s=5)
    app = make_app(store, temporal_client, bots=BotRules(after_send_s=10))
    async with http(app) as c:
        await c.get(f"/c/{token(tokens.CLICK, cid)}")
    assert store.events_for(cid, type="email.clicked")[0].data.get("bot_reason") == "soon_after_send"


async def test_click_without_temporal_still_redirects_and_keeps_the_event(store):
    cid = seed(store)
    async with http(make_app(store, None)) as c:
        r = await c.get(f"/c/{token(tokens.CLICK, cid)}")
    assert r.status_code == 302 and event_types(store, cid).count("email.clicked") == 1


# ------------------------------------------------------------------ unsubscribe

async def test_unsubscribe_get_shows_a_form_and_changes_nothing(store, app):
    cid = seed(store)
    tok = token(tokens.UNSUBSCRIBE, cid)
    before = counts(store)
    async with http(app) as c:
        r = await c.get(f"/u/{tok}")
    assert r.status_code == 200 and '<form method="post"' in r.text and f'action="/u/{tok}"' in r.text
    assert 'lang="en"' in r.text and "Offers and news by Email" in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    assert counts(store) == before and store.consent_state(cid, "email", "marketing").status == "granted"


async def test_one_click_post_withdraws_at_once_without_redirect(store, app):
    cid = seed(store)
    async with http(app) as c:
        r = await c.post(f"/u/{token(tokens.UNSUBSCRIBE, cid)}", data={"List-Unsubscribe": "One-Click"},
                         headers={"user-agent": "Mail/1.0"})
    assert r.status_code == 200 and "location" not in r.headers
    state = store.consent_state(cid, "email", "marketing")
    assert state.status == "withdrawn" and state.source == "list-unsubscribe one-click"
    last = store.consent_history(cid)[-1]
    assert (last.ip, last.user_agent, last.wording_version) == ("203.0.113.7", "Mail/1.0", "2024-06-01")
    [unsub] = store.events_for(cid, type="email.unsubscribed")
    assert unsub.message_id == MESSAGE_ID and unsub.data == {"channel": "email", "purpose": "marketing"}


async def test_unsubscribe_is_idempotent(store, app):
    cid = seed(store)
    tok = token(tokens.UNSUBSCRIBE, cid)
    async with http(app) as c:
        first = await c.post(f"/u/{tok}")
        after_first = counts(store)
        second = await c.post(f"/u/{tok}", data={"List-Unsubscribe": "One-Click"})
    assert first.status_code == second.status_code == 200 and "You are unsubscribed" in first.text
    assert counts(store) == after_first


async def test_a_spanish_contact_unsubscribes_in_spanish(store, app):
    """The page and its confirmation follow the contact's locale (consent.yaml `pages.es`)."""
    cid = seed(store, email="lucia@example.com")
    store.update_contact(cid, locale="es-ES")
    tok = token(tokens.UNSUBSCRIBE, cid)
    async with http(app) as c:
        page = await c.get(f"/u/{tok}")
        done = await c.post(f"/u/{tok}")
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "<h1>Darse de baja</h1>" in page.text
    assert "¿Dejar de recibir Ofertas y novedades por correo electrónico?" in page.text
    assert ">Elige qué quieres recibir</a>" in page.text and ">Darme de baja</button>" in page.text
    assert "Unsubscribe" not in page.text and "Offers" not in page.text
    assert done.status_code == 200 and '<html lang="es">' in done.text
    assert "<h1>Te has dado de baja</h1>" in done.text
    assert "Ya no recibirás Ofertas y novedades por correo electrónico." in done.text
    assert store.consent_state(cid, "email", "marketing").status == "withdrawn"


async def test_a_confirmation_page_follows_the_locale_and_an_unknown_one_reads_the_default(store, app):
    cid = seed(store, email="sofia@example.com")
    store.update_contact(cid, locale="es-MX")  # no es-mx block: its language part, es
    other = seed(store, email="chloe@example.com", message_id="<fedcba9876543210fedcba9876543210@nurture.local>")
    store.update_contact(other, locale="fr-FR")  # no fr block: the default language, en
    async with http(app) as c:
        es = await c.get(f"/confirm/{token(tokens.CONFIRM, cid)}")
        fr = await c.get(f"/confirm/{token(tokens.CONFIRM, other)}")
        confirmed = await c.post(f"/confirm/{token(tokens.CONFIRM, cid)}")
    assert '<html lang="es">' in es.text and ">Confirmar mi suscripción</button>" in es.text
    assert '<html lang="en">' in fr.text and ">Confirm my subscription</button>" in fr.text
    assert confirmed.status_code == 200 and "<h1>Gracias</h1>" in confirmed.text


@pytest.mark.parametrize("bad", ["forged", "tampered", "wrong_kind"])
async def test_unsubscribe_refusals_change_nothing(store, app, bad):
    cid = seed(store)
    tok = {
        "forged": lambda: token(tokens.UNSUBSCRIBE, cid, signer=OTHER_SIGNER),
        "tampered": lambda: tamper(token(tokens.UNSUBSCRIBE, cid)),
        "wrong_kind": lambda: token(tokens.PREFERENCES, cid),
    }[bad]()
    before = counts(store)
    async with http(app) as c:
        get, post = await c.get(f"/u/{tok}"), await c.post(f"/u/{tok}", data={"List-Unsubscribe": "One-Click"})
    assert get.status_code == post.status_code == 400
    assert counts(store) == before


# ------------------------------------------------------------------ double opt-in

async def test_opening_the_confirm_link_only_shows_a_button(store, app):
    """Mail scanners open every link: a GET must not confirm anything."""
    cid = seed(store)
    tok = token(tokens.CONFIRM, cid)
    before = counts(store)
    async with http(app) as c:
        r = await c.get(f"/confirm/{tok}")
    assert r.status_code == 200 and '<form method="post" action="/confirm/' in r.text
    assert counts(store) == before and store.consent_state(cid, "email", "marketing").status != "confirmed"


async def test_confirm_records_confirmed_consent_with_the_token_hash(store, app):
    cid = seed(store)
    tok = token(tokens.CONFIRM, cid)
    async with http(app) as c:
        r = await c.post(f"/confirm/{tok}")
        again = await c.post(f"/confirm/{tok}")
    assert r.status_code == again.status_code == 200 and "Thank you" in r.text
    confirmed = [e for e in store.consent_history(cid) if e.status == "confirmed"]
    assert len(confirmed) == 1  # the second click adds nothing
    assert confirmed[0].evidence == "sha256:" + hashlib.sha256(tok.encode()).hexdigest()
    assert event_types(store, cid).count("consent.confirmed") == 1


async def test_expired_confirm_link_gets_410_and_changes_nothing(store, app):
    cid = seed(store)
    before = counts(store)
    async with http(app) as c:
        r = await c.post(f"/confirm/{token(tokens.CONFIRM, cid, expires_at=1_000)}")
        shown = await c.get(f"/confirm/{token(tokens.CONFIRM, cid, expires_at=1_000)}")
    assert r.status_code == shown.status_code == 410 and "expired" in r.text
    assert counts(store) == before


@pytest.mark.parametrize("bad", ["forged", "tampered", "wrong_kind"])
async def test_confirm_refusals_change_nothing(store, app, bad):
    cid = seed(store)
    tok = {
        "forged": lambda: token(tokens.CONFIRM, cid, signer=OTHER_SIGNER),
        "tampered": lambda: tamper(token(tokens.CONFIRM, cid)),
        "wrong_kind": lambda: token(tokens.UNSUBSCRIBE, cid),
    }[bad]()
    before = counts(store)
    async with http(app) as c:
        r, shown = await c.post(f"/confirm/{tok}"), await c.get(f"/confirm/{tok}")
    assert r.status_code == shown.status_code == 400 and counts(store) == before


async def test_confirm_link_does_not_override_a_later_unsubscribe(store, app):
    cid = seed(store)
    tok = token(tokens.CONFIRM, cid)  # sent first, then the person unsubscribed
    store.record_consent(cid, "email", "marketing", "withdrawn", source="unsubscribe link")
    before = counts(store)
    async with http(app) as c:
        r = await c.post(f"/confirm/{tok}")
    assert r.status_code == 409 and counts(store) == before
