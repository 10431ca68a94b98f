"""The preference page: what it shows, what a POST changes (and refuses), and how it looks in
a real headless browser (Debian chromium; skipped with the reason when it is absent)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from devstack.uvicorn_thread import UvicornThread
from tests.tracking_helpers import OTHER_SIGNER, counts, http, make_app, seed, tamper, temporal_client, token
from tracking import tokens

pytestmark = pytest.mark.asyncio
_ = temporal_client
UA = {"user-agent": "Browser/2.0"}


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


def checkboxes(html: str) -> dict[str, bool]:
    """{"purpose:channel": checked} of every consent checkbox on the page."""
    found = {}
    for tag in re.findall(r"<input [^>]*>", html):
        value = re.search(r'value="([^"]+)"', tag)
        if 'name="consent"' in tag and value:
            found[value.group(1)] = " checked" in tag
    return found


async def test_page_shows_each_topic_and_channel_with_the_current_choice(store, app):
    cid = seed(store)  # email marketing granted; has a phone
    async with http(app) as c:
        r = await c.get(f"/p/{token(tokens.PREFERENCES, cid)}")
    assert r.status_code == 200 and '<html lang="en">' in r.text
    boxes = checkboxes(r.text)
    assert boxes["marketing:email"] is True and boxes["marketing:sms"] is False
    assert boxes["newsletter:email"] is False and "transactional:email" not in boxes
    assert r.text.count("<fieldset>") == r.text.count("<legend>") == 5
    assert "Send me the monthly newsletter" in r.text  # the declared wording
    assert all(f'<label for="c-{v.replace(":", "-")}">' in r.text for v in boxes)


async def test_a_spanish_contact_sees_the_page_in_spanish(store, app):
    """Texts, purpose labels and wording, channel labels: consent.yaml `pages.es`, by the contact's locale."""
    cid = seed(store)
    store.update_contact(cid, locale="es-ES")
    tok = token(tokens.PREFERENCES, cid)
    async with http(app) as c:
        r = await c.get(f"/p/{tok}")
        saved = await c.post(f"/p/{tok}", data={"consent": ["newsletter:email"], "action": "save"}, headers=UA)
        bad = await c.post(f"/p/{tok}", data={"consent": ["nope:email"], "action": "save"})
    assert r.status_code == 200 and '<html lang="es">' in r.text
    assert "<h1>Tus preferencias en Nurture</h1>" in r.text and "<title>Tus preferencias</title>" in r.text
    assert "<legend>Ofertas y novedades</legend>" in r.text and "<legend>Boletín mensual</legend>" in r.text
    assert "Enviadme el boletín mensual con artículos e invitaciones a eventos." in r.text
    assert "> correo electrónico</label>" in r.text and "> mensajes de texto (SMS)</label>" in r.text
    assert ">Guardar mis preferencias</button>" in r.text and ">Darme de baja de todo</button>" in r.text
    assert "Offers" not in r.text and "Save my choices" not in r.text
    before, after = checkboxes(r.text), checkboxes(saved.text)
    assert (before["newsletter:email"], before["marketing:email"]) == (False, True)
    assert (after["newsletter:email"], after["marketing:email"]) == (True, False)
    assert 'role="status">Tus preferencias se han guardado.</p>' in saved.text
    assert bad.status_code == 400 and "No hemos podido leer tus preferencias" in bad.text
    # the consent event records the wording version, whichever language it was read in
    assert store.consent_state(cid, "email", "newsletter").wording_version == "2024-06-01"


async def test_channels_without_an_address_are_not_offered(store, app):
    cid = seed(store, phone=None)
    async with http(app) as c:
        r = await c.get(f"/p/{token(tokens.PREFERENCES, cid)}")
    assert not any(v.endswith(":sms") for v in checkboxes(r.text))


async def test_saving_choices_records_consent_events_at_once(store, app):
    cid = seed(store)
    form = {"consent": ["newsletter:email", "product-updates:sms"], "action": "save"}
    async with http(app) as c:
        r = await c.post(f"/p/{token(tokens.PREFERENCES, cid)}", data=form, headers=UA)
    assert r.status_code == 200 and "Your choices are saved." in r.text and 'role="status"' in r.text
    assert store.consent_state(cid, "email", "marketing").status == "withdrawn"
    assert store.consent_state(cid, "email", "newsletter").status == "granted"
    assert store.consent_state(cid, "sms", "product-updates").status == "granted"
    changes = [e for e in store.consent_history(cid) if e.source == "preference page"]
    assert len(changes) == 3
    assert {(e.wording_version, e.ip, e.user_agent) for e in changes} == {("2024-06-01", "203.0.113.7", "Browser/2.0")}
    assert checkboxes(r.text)["newsletter:email"] is True and checkboxes(r.text)["marketing:email"] is False


async def test_saving_the_same_choices_again_adds_nothing(store, app):
    cid = seed(store)
    form = {"consent": ["marketing:email"], "action": "save"}
    before = counts(store)
    async with http(app) as c:
        r = await c.post(f"/p/{token(tokens.PREFERENCES, cid)}", data=form)
    assert r.status_code == 200 and "No changes" in r.text and counts(store) == before


async def test_unsubscribe_from_all(store, app):
    cid = seed(store)
    store.record_consent(cid, "sms", "marketing", "confirmed", source="signup form")
    async with http(app) as c:
        r = await c.post(f"/p/{token(tokens.PREFERENCES, cid)}",
                         data={"consent": ["marketing:email"], "action": "unsubscribe_all"})
    assert r.status_code == 200 and not any(checkboxes(r.text).values())
    assert {s.status for by in store.consent_states(cid).values() for s in by.values()} == {"withdrawn"}


@pytest.mark.parametrize("form", [
    {"consent": ["marketing:webhook"]},  # a choice the page does not offer
    {"consent": ["transactional:email"]},
    {"consent": ["marketing:email"], "action": "delete_everything"},
], ids=["not-offered", "transactional", "unknown-action"])
async def test_choices_not_offered_are_refused_and_change_nothing(store, app, form):
    cid = seed(store)
    before = counts(store)
    async with http(app) as c:
        r = await c.post(f"/p/{token(tokens.PREFERENCES, cid)}", data=form)
    assert r.status_code == 400 and counts(store) == before


@pytest.mark.parametrize("bad", ["forged", "tampered", "wrong_kind"])
async def test_bad_tokens_get_400_and_change_nothing(store, app, bad):
    cid = seed(store)
    tok = {
        "forged": lambda: token(tokens.PREFERENCES, cid, signer=OTHER_SIGNER),
        "tampered": lambda: tamper(token(tokens.PREFERENCES, cid)),
        "wrong_kind": lambda: token(tokens.UNSUBSCRIBE, cid),
    }[bad]()
    before = counts(store)
    async with http(app) as c:
        get = await c.get(f"/p/{tok}")
        post = await c.post(f"/p/{tok}", data={"action": "unsubscribe_all"})
    assert get.status_code == post.status_code == 400 and counts(store) == before


async def test_erased_contact_gets_404(store, app):
    cid = seed(store)
    store.erase_contact(cid)
    async with http(app) as c:
        r = await c.get(f"/p/{token(tokens.PREFERENCES, cid)}")
    assert r.status_code == 404 and "ada@example.com" not in r.text


# ------------------------------------------------------------------ a real browser

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def chromium(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); the browser test needs it")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


async def test_preference_page_in_headless_chromium(sqlite_store, tmp_path):
    cid = seed(sqlite_store)
    sqlite_store.record_consent(cid, "email", "newsletter", "granted", source="signup form")
    app = make_app(sqlite_store, None)
    shot = tmp_path / "preferences.png"
    with UvicornThread(app, name="tracking") as server:
        url = f"{server.url}/p/{token(tokens.PREFERENCES, cid)}"
        taken = chromium(f"--screenshot={shot}", "--window-size=900,1400", url)
        dom = chromium("--dump-dom", url)
    assert shot.exists(), taken.stderr[-2000:]
    width, height = png_size(shot)
    assert (width, height) == (900, 1400) and shot.stat().st_size > 20_000  # a rendered page, not a blank one
    boxes = checkboxes(dom.stdout)
    assert boxes["marketing:email"] and boxes["newsletter:email"] and not boxes["profiling:email"]
    assert "<legend>Offers and news</legend>" in dom.stdout and 'lang="en"' in dom.stdout
    keep = Path(__file__).resolve().parent.parent / ".data" / "screenshots"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "preferences.png")  # for people to look at
