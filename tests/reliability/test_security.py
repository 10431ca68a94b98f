"""Security checks: template injection refused at validate time and at render; no open
redirect through /c/; forged tokens and tokens of another type refused; the events API
without or with a wrong token refused. Every refusal leaves the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.render import RenderError, render_email
from bench.harness import write_templates
from compiler.compile import compile_file
from compiler.ir import EmailTemplate
from tests.tracking_helpers import API_TOKEN, LINKS, OTHER_SIGNER, counts, http, make_app, seed, tamper, token
from tracking import tokens


INJECTIONS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ self._TemplateReference__context }}",
    "{{ contact.__dict__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_refused_at_validate_time_with_a_position(tmp_path: Path, payload: str) -> None:
    write_templates(tmp_path, ["hello"])
    (tmp_path / "templates" / "hello.txt").write_text(f"Hi\n{payload}\n")
    path = tmp_path / "inj.yaml"
    path.write_text("journey: inj\ntitle: Injection\nentry: {manual: true}\npolicy:\n  consent: {email: marketing}\n"
                    "steps:\n  - {id: hello, type: send_email, template: hello}\n")
    result = compile_file(path)
    assert result.journey is None and result.errors
    assert all(e.line >= 1 and e.col >= 1 for e in result.errors)
    # positioned in the template file itself, on the payload's line
    assert any("templates/hello.txt:2:" in str(e) for e in result.errors), [str(e) for e in result.errors]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_injection_refused_at_render(payload: str, part: str) -> None:
    fields = {"subject": "Hello", "text": "Hi", "html": "<p>Hi</p>", part: payload}
    context = {"contact": {"first_name": "Ada"}, "unsubscribe_url": "https://t.example/u/x"}
    with pytest.raises(RenderError):
        render_email(EmailTemplate(**fields), context)


@pytest.fixture
def app(sqlite_store):
    return make_app(sqlite_store)


REDIRECTS = [
    ("/c/{click}?url=https://evil.example", 302),
    ("/c/{click}?next=//evil.example&link=2", 302),
    ("/c/{far_link}", 404),
    ("/c/{tampered}", 400),
    ("/c/{forged}", 400),
    ("/c/%2F%2Fevil.example", 400),
    ("/c/https:%2F%2Fevil.example", 400),
]


@pytest.mark.parametrize("url, status", REDIRECTS)
async def test_no_open_redirect(sqlite_store, app, url: str, status: int) -> None:
    cid = seed(sqlite_store)
    click = token(tokens.CLICK, cid)
    toks = {"click": click, "far_link": token(tokens.CLICK, cid, link=len(LINKS)), "tampered": tamper(click),
            "forged": token(tokens.CLICK, cid, OTHER_SIGNER)}
    async with http(app) as c:
        r = await c.get(url.format(**toks))
    assert r.status_code // 100 == status // 100, r.status_code
    assert r.headers.get("location") in (None, LINKS[0])


CROSS_TYPE = [  # (token kind, method, route): a valid token used where another kind is expected
    (tokens.OPEN, "GET", "/c/{}"), (tokens.OPEN, "POST", "/u/{}"), (tokens.CLICK, "POST", "/u/{}"),
    (tokens.UNSUBSCRIBE, "GET", "/c/{}"), (tokens.UNSUBSCRIBE, "GET", "/confirm/{}"),
    (tokens.PREFERENCES, "POST", "/u/{}"), (tokens.CONFIRM, "POST", "/u/{}"), (tokens.CLICK, "GET", "/confirm/{}"),
]


@pytest.mark.parametrize("kind, method, route", CROSS_TYPE)
@pytest.mark.parametrize("forgery", ["cross-type", "other-key", "tampered"])
async def test_forged_and_cross_type_tokens_are_refused(sqlite_store, app, kind, method, route, forgery) -> None:
    cid = seed(sqlite_store)
    right_kind = {"/c/{}": tokens.CLICK, "/u/{}": tokens.UNSUBSCRIBE, "/confirm/{}": tokens.CONFIRM}[route]
    tok = {"cross-type": token(kind, cid), "other-key": token(right_kind, cid, OTHER_SIGNER),
           "tampered": tamper(token(right_kind, cid))}[forgery]
    before = counts(sqlite_store)
    async with http(app) as c:
        r = await c.request(method, route.format(tok), data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400 and "location" not in r.headers
    assert counts(sqlite_store) == before


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", f"Basic {API_TOKEN}", "Bearer ", f"Bearer {API_TOKEN}x"])
async def test_events_api_without_the_right_token(sqlite_store, app, auth) -> None:
    cid = seed(sqlite_store)
    before = counts(sqlite_store)
    headers = {"authorization": auth} if auth else {}
    async with http(app) as c:
        r = await c.post("/v1/events", headers=headers, json={"contact": {"id": cid}, "type": "trial.started"})
    assert r.status_code == 401
    assert counts(sqlite_store) == before
