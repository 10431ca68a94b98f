"""The first-party page snippet (/t.js) in a real headless browser (Debian chromium; skipped with the
reason when it is absent): a site on another origin loads it from the tracking server; nothing is
sent before the site reports consent, a page view after it, nothing under GPC or Do Not Track.
Plus `cli.py snippet` and the script's size."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from html import escape
from pathlib import Path
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from devstack.uvicorn_thread import UvicornThread
from tests.tracking_helpers import http, make_app, temporal_client
from tracking import segment_api
from tracking.snippet import MAX_SCRIPT_BYTES, SCRIPT_PATH, script_tag

_ = temporal_client
ROOT = Path(__file__).resolve().parent.parent
WRITE_KEY = "wk_public_test"


class Recorder:
    """The real tracking app, with every request it receives noted (method, path, body)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = b""
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], scope["path"], body))

        async def replay() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        await self.app(scope, replay, send)

    def posts(self) -> list[tuple[str, dict]]:
        return [(path, json.loads(body)) for method, path, body in self.seen if method == "POST"]


def site(tracking_url: str):
    """A website on its own origin: /pricing with the snippet; ?consent=1 has its banner accept,
    ?gpc=1 / ?dnt=1 set the browser's privacy signals (as a browser or extension does)."""

    async def pricing(request: Request) -> HTMLResponse:
        q = request.query_params
        signals = ""
        if q.get("gpc"):
            signals += "Object.defineProperty(navigator,'globalPrivacyControl',{value:true});"
        if q.get("dnt"):
            signals += "Object.defineProperty(navigator,'doNotTrack',{value:'1'});"
        accept = ("nurture.consent(['profiling']).then(function(sent){document.body.setAttribute('data-sent',String(sent));"
                  "var f=document.querySelector('[name=anonymous_id]');if(f)document.body.setAttribute('data-aid',f.value)});"
                  if q.get("consent") else "document.body.setAttribute('data-sent','none');")
        identify = "nurture.identify('crm-777',{email:'ada@example.com'});" if q.get("identify") else ""
        form = ('<form class="nurture-form"><input type="hidden" name="anonymous_id" value=""></form>'
                if q.get("form") else "")
        html = (f"<!doctype html><html><head><title>Pricing - Acme</title><script>{signals}</script>"
                f"{script_tag(tracking_url, WRITE_KEY)}</head><body><h1>Pricing</h1>{form}"
                f"<script>window.addEventListener('load',function(){{{accept}{identify}}});</script></body></html>")
        return HTMLResponse(html)

    return Starlette(routes=[Route("/pricing", pricing)])


@asynccontextmanager
async def served_here(app: Any):
    """Serve `app` with uvicorn on the running event loop; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


def chromium_dom(url: str, profile: Path) -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); the browser test needs it")
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert "data-sent" in done.stdout, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def servers(sqlite_store):
    recorder = Recorder(make_app(sqlite_store, None))
    with UvicornThread(recorder, name="tracking") as tracking, UvicornThread(site(tracking.url), name="site") as web:
        yield recorder, web.url


def visit(servers, tmp_path: Path, query: str) -> tuple[str, list[tuple[str, dict]]]:
    recorder, site_url = servers
    dom = chromium_dom(f"{site_url}/pricing?{query}", tmp_path / "profile")
    return dom, recorder.posts()


def test_nothing_is_sent_before_consent(servers, tmp_path):
    dom, posts = visit(servers, tmp_path, "utm_source=news")
    assert 'data-sent="none"' in dom
    assert [(m, p) for m, p, _ in servers[0].seen] == [("GET", "/t.js")]  # the script loaded, and that is all
    assert posts == []


def test_a_page_view_is_sent_after_consent(servers, tmp_path):
    dom, posts = visit(servers, tmp_path, "consent=1&utm_source=news&utm_campaign=spring")
    assert 'data-sent="true"' in dom
    assert [path for path, _ in posts] == ["/v1/page"]
    body = posts[0][1]
    assert body["type"] == "page" and body["writeKey"] == WRITE_KEY
    assert len(body["anonymousId"]) == 36 and body["messageId"] != body["anonymousId"]
    page = body["context"]["page"]
    assert page["path"] == "/pricing" and page["title"] == "Pricing - Acme" and page["url"].startswith(servers[1])
    assert body["properties"]["path"] == "/pricing"
    assert body["context"]["campaign"] == {"source": "news", "name": "spring"}
    assert body["timestamp"].endswith("Z") and "userId" not in body


def test_after_consent_a_signup_form_gets_the_browsers_anonymous_id(servers, tmp_path):
    dom, posts = visit(servers, tmp_path, "consent=1&form=1")
    assert f'data-aid="{posts[0][1]["anonymousId"]}"' in dom


def test_identify_after_consent_carries_the_user_and_traits(servers, tmp_path):
    _, posts = visit(servers, tmp_path, "consent=1&identify=1")
    sent = {path: body for path, body in posts}  # two requests in flight: either may arrive first
    assert len(posts) == 2 and sent.keys() == {"/v1/page", "/v1/identify"}
    page, ident = sent["/v1/page"], sent["/v1/identify"]
    assert ident["userId"] == "crm-777" and ident["traits"] == {"email": "ada@example.com"}
    assert ident["anonymousId"] == page["anonymousId"]  # the same first-party id ties the visits to the person


async def test_what_the_browser_sends_is_accepted_by_the_tracking_api(sqlite_store, temporal_client, tmp_path):
    """The exact bodies chromium sent (text/plain JSON, writeKey inside), replayed to the real
    Segment-compatible API: the visit lands as page.visited, the identify ties it to crm-777."""
    recorder = Recorder(make_app(sqlite_store, None))
    with UvicornThread(recorder, name="tracking") as tracking, UvicornThread(site(tracking.url), name="site") as web:
        chromium_dom(f"{web.url}/pricing?consent=1&identify=1&utm_source=news", tmp_path / "profile")
    api = make_app(sqlite_store, temporal_client)
    segment_api.install(api, write_keys=[WRITE_KEY])
    async with http(api) as c:
        for path, body in recorder.posts():
            r = await c.post(path, content=json.dumps(body), headers={"content-type": "text/plain;charset=UTF-8"})
            assert r.status_code == 200, r.text
    contact = sqlite_store.find_contact(external_id="crm-777")
    assert contact is not None and contact.email == "ada@example.com"
    visits = sqlite_store.events_for(contact.id, type="page.visited")
    assert len(visits) == 1 and visits[0].data["path"] == "/pricing" and visits[0].data["utm_source"] == "news"


@pytest.mark.parametrize("signal", ["gpc=1", "dnt=1"])
def test_nothing_is_sent_under_gpc_or_do_not_track_even_with_consent(servers, tmp_path, signal):
    dom, posts = visit(servers, tmp_path, f"consent=1&identify=1&{signal}")
    assert 'data-sent="false"' in dom
    assert posts == []


async def test_the_script_is_served_small_and_first_party(sqlite_store):
    async with http(make_app(sqlite_store, None)) as c:
        r = await c.get("/t.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert len(r.content) == SCRIPT_PATH.stat().st_size < MAX_SCRIPT_BYTES
    assert b"http" not in r.content.replace(b"https://T/t.js", b"")  # no third-party address in it


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    full = {k: v for k, v in os.environ.items() if k != "NURTURE_WRITE_KEYS"} | (env or {})
    return subprocess.run([sys.executable, "cli.py", "snippet", *args], cwd=ROOT, capture_output=True, text=True,
                          env=full, timeout=60)


def test_cli_snippet_prints_the_tag_with_the_first_write_key():
    done = run_cli("--url", "https://t.example.com", env={"NURTURE_WRITE_KEYS": "wk_new, wk_old"})
    assert done.returncode == 0, done.stderr
    assert '<script async src="https://t.example.com/t.js" data-write-key="wk_new" data-purpose="profiling">' in done.stdout
    assert done.stdout.count("<script") == 2  # the stub that queues early calls, then t.js


@pytest.mark.parametrize("args, message", [
    ((), "no write key: set NURTURE_WRITE_KEYS"),
    (("--write-key", "k", "--purpose", "profilin"), 'purpose "profilin" is not declared in journeys/consent.yaml (did you mean "profiling"?)'),
    (("--write-key", "k", "--url", "javascript:alert(1)"), "--url must start with https:// or http://"),
])
def test_cli_snippet_refuses_with_one_line(args, message):
    done = run_cli(*args)
    assert done.returncode == 1 and done.stdout == ""
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_tag_escapes_what_it_is_given():
    tag = script_tag("https://t.example.com", 'k"><script>x</script>')
    assert "<script>x" not in tag and "&quot;&gt;&lt;script&gt;" in tag
    assert escape("https://t.example.com/t.js") in tag


async def test_a_real_browser_submits_the_embedded_form_from_another_site(sqlite_store, temporal_client, tmp_path):
    """`cli.py forms snippet` pasted in a site (an allowed origin) with t.js: after consent the
    browser posts the form (no token: its Origin is checked); the contact, its pending consent
    with the page as proof, and the visits of its first-party id are one contact."""
    from commands.forms import snippet
    from compiler.forms_model import load_forms
    from tracking.form_guard import FormGuard
    from tracking.forms import FormsState
    from tests.tracking_helpers import SIGNER

    holder: dict[str, str] = {}

    async def landing(request: Request) -> HTMLResponse:
        return HTMLResponse(holder["html"])

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); the browser test needs it")
    app = make_app(sqlite_store, temporal_client)
    segment_api.install(app, write_keys=[WRITE_KEY])
    # the tracking server runs on this test's event loop: the Temporal client belongs to it
    async with served_here(app) as tracking_url:
        with UvicornThread(Starlette(routes=[Route("/join", landing)]), name="site") as web:
            shutil.copy(ROOT / "journeys" / "consent.yaml", tmp_path)
            forms_file = tmp_path / "forms.yaml"
            forms_file.write_text((ROOT / "journeys" / "forms.yaml").read_text(encoding="utf-8").replace(
                '"https://www.example.com"', f'"{web.url}"'), encoding="utf-8")
            app.state.forms = FormsState(load_forms(forms_file), FormGuard(SIGNER))
            form = snippet(str(forms_file), str(tmp_path / "consent.yaml"), "newsletter", tracking_url, None)
            # t.js loaded synchronously here so that the page can submit before its load event (the
            # browser's --dump-dom then shows the page the POST answered)
            tag = script_tag(tracking_url, WRITE_KEY).replace("<script async ", "<script ")
            holder["html"] = (
                f"<!doctype html><html><head><title>Join</title>{tag}</head><body>{form}<script>"
                "nurture.consent(['profiling']);var f=document.querySelector('form.nurture-form');"
                "f.email.value='ada@example.com';f.querySelector('[value=\"marketing:email\"]').checked=true;"
                "f.submit();</script></body></html>")
            browser = await asyncio.create_subprocess_exec(
                binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}", "--timeout=8000", "--dump-dom", f"{web.url}/join",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(browser.communicate(), 90)
    dom = out.decode()
    assert "Almost done" in dom, dom[-1500:] + err.decode()[-1500:]
    contact = sqlite_store.find_contact(email="ada@example.com")
    proof = sqlite_store.consent_history(contact.id)[0]
    assert (proof.status, proof.source) == ("pending", "form:newsletter")
    assert proof.evidence["page_url"].startswith(web.url)  # the site's page (the Referer the browser sent)
    visits = sqlite_store.events_for(contact.id, type="page.visited")
    assert [v.data["path"] for v in visits] == ["/join"]  # the visit before signing up is the contact's
