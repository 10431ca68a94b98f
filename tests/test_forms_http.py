"""Hosted subscribe forms over HTTP on the real app and store (SQLite and PostgreSQL): what GET
shows, what a POST records (pending consent with its proof, contact.subscribed), and every
refusal (fields, CSRF, honeypot, rate limit, stale wording, Temporal down) changing nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.forms_model import load_forms
from tests.tracking_helpers import ROOT, SIGNER, counts, event_types, http, make_app, temporal_client, token
from tracking import tokens
from tracking.form_guard import FormGuard
from tracking.forms import FormsState

_ = temporal_client
UA = {"user-agent": "Browser/3.0", "referer": "https://www.example.com/blog/post-1"}
FORMS = ROOT / "journeys" / "forms.yaml"


@pytest.fixture
async def app(store, temporal_client):
    return make_app(store, temporal_client)


def form_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


async def filled(c, **overrides) -> dict:
    page = await c.get("/f/newsletter")
    data = {"email": "lea@example.com", "first_name": "Léa", "consent": ["marketing:email", "profiling:email"],
            "version:marketing:email": "2024-06-01", "version:profiling:email": "2024-06-01", "locale": "en",
            "token": form_token(page.text), "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


async def test_get_renders_the_form_with_the_declared_wording_in_the_browsers_language(store, app):
    async with http(app) as c:
        en = await c.get("/f/newsletter")
        es = await c.get("/f/newsletter", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})
        chosen = await c.get("/f/newsletter?lang=es")
        missing = await c.get("/f/nope")
    assert en.status_code == 200 and '<html lang="en">' in en.text and "<h1>Get Northwind Notes</h1>" in en.text
    assert "Send me offers, tips and news about Nurture&#x27;s products." in en.text  # consent.yaml's wording
    assert 'name="version:marketing:email" value="2024-06-01"' in en.text and 'name="token"' in en.text
    assert '<label for="f-email">Email address *</label>' in en.text and 'name="website"' in en.text
    assert es.status_code == 200 and '<html lang="es">' in es.text and "Enviadme ofertas" in es.text
    assert '<html lang="es">' in chosen.text
    assert missing.status_code == 404


async def test_a_folder_without_forms_yaml_has_no_forms(store, tmp_path, monkeypatch):
    monkeypatch.setenv("NURTURE_JOURNEYS_DIR", str(tmp_path))
    async with http(make_app(store, None)) as c:
        assert (await c.get("/f/newsletter")).status_code == 404
        assert (await c.post("/f/newsletter", data={"email": "x@example.com"})).status_code == 404
    assert store.contact_ids() == []


async def test_a_submission_upserts_the_contact_and_records_pending_consent_with_its_proof(store, app):
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c), headers=UA)
    assert r.status_code == 200 and "Almost done" in r.text
    contact = store.find_contact(email="lea@example.com")
    assert contact.first_name == "Léa" and contact.locale == "en"
    history = store.consent_history(contact.id)
    assert [(h.channel, h.purpose, h.status) for h in history] == [("email", "marketing", "pending"),
                                                                   ("email", "profiling", "pending")]
    proof = history[0]
    assert (proof.source, proof.wording_version, proof.ip, proof.user_agent) == (
        "form:newsletter", "2024-06-01", "203.0.113.7", "Browser/3.0")
    assert proof.evidence == {"form": "newsletter", "page_url": "https://www.example.com/blog/post-1", "locale": "en"}
    assert proof.at is not None
    assert event_types(store, contact.id) == ["contact.subscribed"]
    assert store.events_for(contact.id)[0].data == {"form": "newsletter", "consent": ["marketing:email", "profiling:email"]}
    assert store.read_profile(contact.id)["consent"] == {"email": False}  # pending is not consent yet


async def test_an_existing_contact_is_updated_not_duplicated(store, app):
    cid = store.create_contact(email="lea@example.com", external_id="crm-1", locale="es")
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c, email="LEA@example.com"), headers=UA)
    assert r.status_code == 200
    assert store.contact_ids() == [cid]
    assert store.get_contact(cid).first_name == "Léa" and store.get_contact(cid).locale == "es"


async def test_the_anonymous_visits_before_signing_up_become_the_contacts(store, app):
    """t.js fills the form's anonymous_id (the browser's first-party id) once consent was given."""
    anonymous = store.create_anonymous("0b7f8a4e-5b1c-4a47-9d3e-2f1e6c1d9a10")
    store.record_event(anonymous, "page.visited", data={"path": "/pricing"})
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c, anonymous_id="0b7f8a4e-5b1c-4a47-9d3e-2f1e6c1d9a10"))
    assert r.status_code == 200
    contact = store.find_contact(email="lea@example.com")
    assert [e.data.get("path") for e in store.events_for(contact.id, type="page.visited")] == ["/pricing"]
    assert not store.is_anonymous(contact.id)


async def test_an_anonymous_id_that_t_js_cannot_have_made_is_ignored(store, app):
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c, anonymous_id="a\nb"))
    assert r.status_code == 200
    contact = store.find_contact(email="lea@example.com")
    assert store.contact_of_anonymous_id("a\nb") is None and not store.is_anonymous(contact.id)


@pytest.mark.parametrize("overrides, field, status", [
    ({"email": ""}, "email", 400),
    ({"email": "not-an-address"}, "email", 400),
    ({"consent": ["profiling:email"]}, "c-marketing-email", 400),
])
async def test_bad_fields_show_the_form_again_with_the_error_and_store_nothing(store, app, overrides, field, status):
    async with http(app) as c:
        before = counts(store)
        r = await c.post("/f/newsletter", data=await filled(c, **overrides), headers=UA)
    assert r.status_code == status
    assert f'aria-describedby="e-{field}"' in r.text and 'value="Léa"' in r.text  # values kept
    assert counts(store) == before and store.contact_ids() == []


async def test_unknown_consent_or_stale_wording_is_refused(store, app):
    async with http(app) as c:
        stale = await c.post("/f/newsletter", data=await filled(c, **{"version:marketing:email": "2023-01-01"}))
        unknown = await c.post("/f/newsletter", data=await filled(c, consent=["marketing:email", "third-party:webhook"]))
    assert stale.status_code == 409 and "This page was out of date" in stale.text
    assert unknown.status_code == 400
    assert store.contact_ids() == []


async def test_csrf_a_post_without_a_valid_token_from_another_site_is_refused(store, app):
    async with http(app) as c:
        forged = await c.post("/f/newsletter", data=await filled(c, token="1.AAAA"),
                              headers={"origin": "https://evil.example"})
        other_form = await c.post("/f/newsletter", data=await filled(c, token=FormGuard(SIGNER).token("other")))
        none = await c.post("/f/newsletter", data=await filled(c, token=None))
    assert (forged.status_code, other_form.status_code, none.status_code) == (403, 403, 403)
    assert store.contact_ids() == []


async def test_an_embedded_form_posts_from_an_allowed_origin_without_a_token(store, app):
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c, token=None), headers={"origin": "https://www.example.com"})
    assert r.status_code == 200 and store.find_contact(email="lea@example.com") is not None


async def test_an_expired_token_is_refused():
    guard = FormGuard(SIGNER)
    old = guard.token("newsletter", now=1_000_000)
    assert guard.token_ok("newsletter", old, now=1_000_000 + 3600)
    assert not guard.token_ok("newsletter", old, now=1_000_000 + 2 * 86400)
    assert not guard.token_ok("newsletter", guard.token("newsletter"), now=0)  # from the future


async def test_a_filled_honeypot_gets_the_usual_answer_and_nothing_is_stored(store, app):
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c, website="http://spam.example"))
    assert r.status_code == 200 and "Almost done" in r.text
    assert store.contact_ids() == []


async def test_the_rate_limit_per_ip_answers_429_with_retry_after(store, app, tmp_path):
    shutil.copy(ROOT / "journeys" / "consent.yaml", tmp_path)
    (tmp_path / "forms.yaml").write_text(FORMS.read_text(encoding="utf-8").replace("rate_limit: 10/hour",
                                                                                  "rate_limit: 2/minute"))
    app.state.forms = FormsState(load_forms(tmp_path / "forms.yaml"), FormGuard(SIGNER))
    async with http(app) as c:
        answers = [await c.post("/f/newsletter", data=await filled(c, email=f"p{i}@example.com")) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 61
    assert store.find_contact(email="p2@example.com") is None


async def test_a_form_with_a_redirect_sends_the_browser_there_and_its_page_allows_it(store, app, tmp_path):
    shutil.copy(ROOT / "journeys" / "consent.yaml", tmp_path)
    (tmp_path / "forms.yaml").write_text(FORMS.read_text(encoding="utf-8").replace(
        "    rate_limit: 10/hour", "    rate_limit: 10/hour\n    redirect: https://www.example.com/thanks?from=form"))
    app.state.forms = FormsState(load_forms(tmp_path / "forms.yaml"), FormGuard(SIGNER))
    async with http(app) as c:
        page = await c.get("/f/newsletter")
        r = await c.post("/f/newsletter", data=await filled(c))
    assert "form-action 'self' https://www.example.com;" in page.headers["content-security-policy"]
    assert (r.status_code, r.headers["location"]) == (303, "https://www.example.com/thanks?from=form")
    assert store.find_contact(email="lea@example.com") is not None


async def test_a_confirmed_contact_resubmitting_is_not_asked_to_confirm_again(store, app):
    async with http(app) as c:
        await c.post("/f/newsletter", data=await filled(c), headers=UA)
        cid = store.find_contact(email="lea@example.com").id
        confirm = await c.post(f"/confirm/{token(tokens.CONFIRM, cid)}")
        assert confirm.status_code == 200
        again = await c.post("/f/newsletter", data=await filled(c), headers=UA)
    assert again.status_code == 200 and "Almost done" in again.text  # the same answer: nothing to probe
    statuses = [(h.purpose, h.status) for h in store.consent_history(cid)]
    assert statuses == [("marketing", "pending"), ("profiling", "pending"),
                        ("marketing", "confirmed"), ("profiling", "confirmed")]
    assert event_types(store, cid).count("contact.subscribed") == 1


async def test_the_confirm_link_confirms_exactly_the_purposes_asked_for_on_the_form(store, app):
    async with http(app) as c:
        await c.post("/f/newsletter", data=await filled(c, consent=["marketing:email"]), headers=UA)
        cid = store.find_contact(email="lea@example.com").id
        await c.post(f"/confirm/{token(tokens.CONFIRM, cid)}")
    states = store.consent_states(cid)["email"]
    assert {p: s.status for p, s in states.items()} == {"marketing": "confirmed"}
    assert store.read_profile(cid)["consent"] == {"email": True}


async def test_without_temporal_the_form_answers_503_and_stores_nothing(store):
    app = make_app(store, None)
    async with http(app) as c:
        r = await c.post("/f/newsletter", data=await filled(c), headers=UA)
    assert r.status_code == 503 and store.contact_ids() == []


def test_cli_forms_snippet_prints_an_embeddable_form():
    done = subprocess.run([sys.executable, "cli.py", "forms", "snippet", "newsletter", "--url", "https://t.example.com",
                           "--lang", "es"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith('<form method="post" action="https://t.example.com/f/newsletter"')
    assert 'name="token"' not in out and 'name="website"' in out and "Suscribirme" in out
    assert 'name="version:marketing:email" value="2024-06-01"' in out


@pytest.mark.parametrize("args, message", [
    (["newslettr"], 'no form "newslettr" in journeys/forms.yaml (did you mean "newsletter"?)'),
    (["newsletter", "--lang", "fr"], 'form "newsletter" has no texts in "fr" (it has en, es)'),
])
def test_cli_forms_snippet_refuses_with_one_line(args, message):
    done = subprocess.run([sys.executable, "cli.py", "forms", "snippet", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == "" and done.stderr.strip() == f"error: {message}"


