"""`cli.py dev --demo` serves a demo website under /demo/ on the tracking server: pages with the
page snippet (carrying the dev write key) and a cookie banner that reports consent to it."""

from __future__ import annotations

import httpx
import pytest

from devstack.demo_site import DEV_WRITE_KEY
from tests.test_dev_stack import DevProcess


@pytest.fixture(scope="module")
def dev_demo(tmp_path_factory):
    d = DevProcess(tmp_path_factory.mktemp("dev-demo"))
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
