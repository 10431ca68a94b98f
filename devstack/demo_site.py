"""`cli.py dev --demo`: a small demo website on the tracking server under /demo/ (a home page and a
pricing page with the page snippet, a cookie banner that calls `nurture.consent`, and a signup
form), so a new user sees visits and signups arrive. A real site would be on its own origin; the
snippet works the same either way (see tests/test_page_snippet.py)."""

from __future__ import annotations

import os
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tracking.segment_api import WRITE_KEYS_ENV
from tracking.snippet import script_tag

DEV_WRITE_KEY = "dev-write-key"
DEMO_FORM = "newsletter"

BANNER = """<div id="banner" hidden><p>We would like to count your visits to personalise what we send you
(<em>profiling</em>, see our consent wording).</p><button id="yes">Accept</button> <button id="no">Decline</button></div>
<script>
(function(){var b=document.getElementById('banner'),k='demo_banner';
if(!localStorage.getItem(k))b.hidden=false;
document.getElementById('yes').onclick=function(){localStorage.setItem(k,'yes');b.hidden=true;nurture.consent(['profiling']);};
document.getElementById('no').onclick=function(){localStorage.setItem(k,'no');b.hidden=true;nurture.consent([]);};})();
</script>"""

STYLE = ("body{font:1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
         "#banner{position:fixed;bottom:0;left:0;right:0;background:#1f4fbf;color:#fff;padding:1rem}"
         "nav a{margin-right:1rem}")


def write_key() -> str:
    """The key the demo's snippet carries: the first of NURTURE_WRITE_KEYS, else the dev key."""
    keys = [k.strip() for k in os.environ.get(WRITE_KEYS_ENV, "").split(",") if k.strip()]
    return keys[0] if keys else DEV_WRITE_KEY


def demo_page(public_url: str, title: str, body: str, form_html: str = "") -> HTMLResponse:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Acme demo</title>'
            f"<style>{STYLE}</style>{script_tag(public_url, write_key())}</head><body>"
            f'<nav><a href="/demo/">Home</a><a href="/demo/pricing">Pricing</a></nav><h1>{escape(title)}</h1>{body}'
            f"{form_html}{BANNER}</body></html>")
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def routes(public_url: str, form_id: str = DEMO_FORM) -> list[Route]:
    """/demo/ and /demo/pricing, each with the signup form `form_id` of journeys/forms.yaml."""
    from tracking.forms import embedded_form

    def form(request: Request) -> str:
        html = embedded_form(request, form_id)
        return f"<h2>Get our newsletter</h2>{html}" if html else ""

    async def home(request: Request) -> Response:
        return demo_page(public_url, "Welcome", "<p>Accept the banner, then open the pricing page a few times: "
                         "each visit is a <code>page.visited</code> event of your anonymous profile; sign up "
                         "below and they become your contact's.</p>", form(request))

    async def pricing(request: Request) -> Response:
        return demo_page(public_url, "Pricing", "<p>Starter 0 &euro;, Team 49 &euro;, Business 199 &euro; a month.</p>",
                         form(request))

    async def to_home(request: Request) -> Response:
        return RedirectResponse("/demo/", status_code=307)

    return [Route("/demo", to_home), Route("/demo/", home), Route("/demo/pricing", pricing)]


def add_demo_site(app: Any, public_url: str) -> None:
    """Mount the demo pages on the tracking app (dev stack only)."""
    app.router.routes.extend(routes(public_url))
