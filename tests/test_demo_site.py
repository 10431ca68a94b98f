"""`cli.py dev --demo` serves a demo website under /demo/ on the tracking server: pages with the
page snippet (carrying the dev write key), a cookie banner that reports consent to it, and the
signup form, whose submission brings the double-opt-in email into the dev stack's SMTP sink."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from devstack.demo_site import DEV_WRITE_KEY
from tests.test_dev_stack import DevProcess


@pytest.fixture(scope="module")
def dev_demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev-demo")
    d = DevProcess(tmp)
    d.outbox = tmp / "data" / "outbox"
    d.wait_ready()
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait(10)


def test_dev_demo_serves_the_demo_site_with_the_snippet(dev_demo):
    base = f"http://127.0.0.1:{dev_demo.ports['tracking-port']}"
    assert f"Demo site:      {base}/demo/" in "".join(dev_demo.lines)
    page = httpx.get(f"{base}/demo/pricing", timeout=10)
    assert page.status_code == 200 and "<h1>Pricing</h1>" in page.text
    assert f'<script async src="{base}/t.js" data-write-key="{DEV_WRITE_KEY}" data-purpose="profiling">' in page.text
    assert "nurture.consent(['profiling'])" in page.text  # the banner's Accept
    script = httpx.get(f"{base}/t.js", timeout=10)
    assert script.status_code == 200 and b"globalPrivacyControl" in script.content
    # what t.js sends after the banner's Accept: the dev stack's tracking API takes the demo's key
    view = {"type": "page", "anonymousId": "demo-browser-1", "writeKey": DEV_WRITE_KEY, "messageId": "demo-m-1",
            "properties": {"path": "/demo/pricing", "url": f"{base}/demo/pricing", "title": "Pricing"}}
    sent = httpx.post(f"{base}/v1/page", content=json.dumps(view), headers={"content-type": "text/plain"}, timeout=10)
    assert sent.status_code == 200, sent.text


def test_signing_up_on_the_demo_site_sends_the_confirmation_email(dev_demo):
    base = f"http://127.0.0.1:{dev_demo.ports['tracking-port']}"
    with httpx.Client(base_url=base, timeout=10) as c:
        page = c.get("/demo/")
        assert '<form method="post" action="/f/newsletter"' in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        posted = c.post("/f/newsletter", data={
            "email": "demo-signup@example.com", "first_name": "Dee", "consent": ["marketing:email"], "locale": "en",
            "version:marketing:email": "2024-06-01", "token": token, "website": ""})
    assert posted.status_code == 200 and "Almost done" in posted.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sent = [p for p in dev_demo.outbox.glob("*.eml") if "demo-signup@example.com" in p.read_text(errors="replace")]
        if sent:
            break
        time.sleep(0.2)
    assert sent, "no confirmation email in the dev stack's outbox"
    assert "Please confirm your subscription" in sent[0].read_text(errors="replace")
