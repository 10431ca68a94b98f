"""Rendering and building email: sandbox, strict names, CSS inlining, tracking, headers, MIME."""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtplib.email import flatten_message

from activities.email_build import BuildError, TrackingLinks, build_email, compose_email, message_id_for, track
from activities.render import RenderError, RenderedEmail, render_email, render_html, render_text
from compiler.ir import EmailTemplate
from tracking.tokens import BadToken, TokenSigner

BASE = "http://127.0.0.1:8025"
SIGNER = TokenSigner([b"render-test-key-0123456789"])
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)

CONTEXT = {
    "contact": {"id": "c-1", "first_name": "Ána", "email": "ana@example.com"},
    "stage": "mql",
    "score": 60,
    "tags": ["webinar"],
    "attributes": {"plan": "team"},
    "journey": {"id": "trial", "title": "Trial"},
    "step": {"id": "welcome"},
}

TEMPLATE = EmailTemplate(
    subject="Welcome,\n {{ contact.first_name }} & co",
    html=(
        "<html><head><style>p { color: #123456 } .cta { font-weight: bold }</style>"
        '<link rel="stylesheet" href="http://192.0.2.1/remote.css"></head><body>'
        "<p>Hi {{ contact.first_name }} <b>{{ attributes.plan }}</b> {{ '<script>' }}</p>"
        '<p><a class="cta" href="https://example.com/pricing?plan={{ attributes.plan }}&amp;x=1">Pricing</a></p>'
        "<p><a href='https://example.com/docs'>Docs</a> <a href=\"mailto:help@acme.test\">Help</a>"
        ' <a href="#top">Top</a> <a href="https://example.com/pricing?plan=team&amp;x=1">Again</a></p>'
        '<!-- <a href="https://example.com/commented">no</a> -->'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a></p>'
        "</body></html>"
    ),
    text=(
        "Hi {{ contact.first_name }} <{{ attributes.plan }}>\n"
        "Pricing: https://example.com/pricing?plan={{ attributes.plan }}&x=1.\n"
        "Blog (https://example.com/blog).\n"
        "Unsubscribe: {{ unsubscribe_url }}\n"
    ),
)


def compose(**overrides: object) -> object:
    kwargs: dict[str, object] = dict(
        to="Ána Pérez <ana@example.com>",
        sender="Acme <news@acme.test>",
        message_key="journey/trial/c-1|welcome|1",
        base_url=BASE,
        signer=SIGNER,
        contact_id="c-1",
        domain="acme.test",
        unsubscribe_mailto="unsubscribe@acme.test",
        date=WHEN,
    )
    kwargs.update(overrides)
    return compose_email(TEMPLATE, CONTEXT, **kwargs)  # type: ignore[arg-type]


def reparse(msg: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def click_index(url: str, message_id: str) -> int:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE and parts.path.startswith("/c/")
    data = SIGNER.verify(parts.path[3:], "click")
    assert data["message_id"] == message_id and data["contact_id"] == "c-1"
    return int(data["link"])


# ---------------------------------------------------------------- rendering


def test_render_escapes_html_only() -> None:
    out = render_email(
        EmailTemplate(subject="{{ x }}", html="<p>{{ x }}</p>", text="{{ x }}"), {"x": "<b>Tom & Jerry</b>"}
    )
    assert out.subject == "<b>Tom & Jerry</b>"
    assert out.text == "<b>Tom & Jerry</b>"
    assert "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>" in out.html
    assert render_text("{{ x }}!", {"x": "a & b"}) == "a & b!"


def test_css_is_inlined_and_remote_stylesheets_are_not_fetched() -> None:
    started = time.monotonic()
    out = render_email(TEMPLATE, {**CONTEXT, "unsubscribe_url": "u", "preferences_url": "p"})
    assert time.monotonic() - started < 2  # 192.0.2.1 (TEST-NET) would hang a fetch
    assert '<p style="color: #123456;">Hi Ána' in out.html
    assert 'style="font-weight: bold;"' in out.html
    assert "<style>" not in out.html and "remote.css" not in out.html
    assert out.subject == "Welcome, Ána & co"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.__class__ }}",
        "{{ tags.append('x') }}",
        "{{ attributes.update({'a': 1}) }}",
        "{% for c in ''.__class__.__base__.__subclasses__() %}{% endfor %}",
    ],
)
def test_sandbox_refuses_unsafe_operations(source: str) -> None:
    with pytest.raises(RenderError) as info:
        render_text(source, dict(CONTEXT), part="body")
    assert str(info.value).startswith("body: ")
    assert CONTEXT["tags"] == ["webinar"] and CONTEXT["attributes"] == {"plan": "team"}


def test_undefined_names_are_errors_not_blanks() -> None:
    with pytest.raises(RenderError, match="'first_nam' is undefined|has no attribute 'first_nam'"):
        render_text("Hi {{ contact.first_nam }}", CONTEXT)
    with pytest.raises(RenderError, match="'coupon' is undefined"):
        render_email(EmailTemplate(subject="s", html="<p>{{ coupon }}</p>", text="t"), CONTEXT)


def test_syntax_and_runtime_errors_are_render_errors() -> None:
    with pytest.raises(RenderError, match=r"^subject: syntax error on line 1"):
        render_email(EmailTemplate(subject="{{ x ", html="", text=""), {"x": 1})
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        render_text("{{ 1 / 0 }}", {})
    with pytest.raises(RenderError, match="subject: renders empty"):
        render_email(EmailTemplate(subject=" {{ '' }} ", html="", text=""), {})


LAYOUT_PARTS = {
    "_layout.html": "<html><body>{% block content %}{% endblock %}{% include '_footer.html' %}</body></html>",
    "_footer.html": '<p class="footer"><a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ x }}</p>',
    "_layout.txt": "{% block content %}{% endblock %}\n--\nUnsubscribe: {{ unsubscribe_url }}",
}
LAYOUT_CHILD = EmailTemplate(
    subject="{% include '_subject.txt' %}",
    html='{% extends "_layout.html" %}{% block content %}<p>Hi {{ contact.first_name }}</p>{% endblock %}',
    text='{% extends "_layout.txt" %}{% block content %}Hi {{ contact.first_name }}{% endblock %}',
)


def test_a_template_extends_and_includes_the_parts_it_is_given() -> None:
    parts = {**LAYOUT_PARTS, "_subject.txt": "News for {{ contact.first_name }}"}
    out = render_email(LAYOUT_CHILD, {**CONTEXT, "unsubscribe_url": "https://u.test/1", "x": "<b>"}, parts)
    assert out.subject == "News for Ána"
    assert "<p>Hi Ána</p>" in out.html
    assert '<a href="https://u.test/1">Unsubscribe</a> &lt;b&gt;</p>' in out.html  # a part is autoescaped too
    assert out.text == "Hi Ána\n--\nUnsubscribe: https://u.test/1"


def test_a_part_not_given_is_an_error_even_when_a_file_of_that_name_exists() -> None:
    assert os.path.exists(os.path.join(os.path.dirname(__file__), "..", "journeys", "templates", "_layout.html"))
    with pytest.raises(RenderError, match=r"^subject: shared part '_subject.txt' is not in this version"):
        render_email(LAYOUT_CHILD, {**CONTEXT, "unsubscribe_url": "u", "x": 1}, LAYOUT_PARTS)
    with pytest.raises(RenderError, match=r"^html: shared part '_layout.html' is not in this version"):
        render_html('{% extends "_layout.html" %}', CONTEXT)


@pytest.mark.parametrize("source", ["{{ ''.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ tags.append('x') }}"])
def test_sandbox_refuses_unsafe_operations_inside_a_part(source: str) -> None:
    with pytest.raises(RenderError, match="^body: "):
        render_text('{% include "_evil.txt" %}', dict(CONTEXT), part="body", parts={"_evil.txt": source})
    assert CONTEXT["tags"] == ["webinar"]


def test_profile_drives_content() -> None:
    tpl = "{% if stage == 'mql' and score >= 50 %}Talk to sales{% else %}Read the guide{% endif %}"
    assert render_text(tpl, CONTEXT) == "Talk to sales"
    assert render_text(tpl, {**CONTEXT, "score": 10}) == "Read the guide"


# ---------------------------------------------------------------- building


def test_built_message_headers() -> None:
    built = compose()
    msg = reparse(built.message)
    assert msg["From"] == "Acme <news@acme.test>"
    assert msg["To"].addresses[0].addr_spec == "ana@example.com"
    assert msg["To"].addresses[0].display_name == "Ána Pérez"
    assert msg["Subject"] == "Welcome, Ána & co"
    assert msg["Date"] == "Tue, 04 Mar 2025 05:06:07 +0000"
    assert msg["Message-ID"] == built.message_id == message_id_for("journey/trial/c-1|welcome|1", "acme.test")
    assert re.fullmatch(r"<[0-9a-f]{32}@acme\.test>", built.message_id)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_part, mailto_part = [p.strip() for p in str(msg["List-Unsubscribe"]).split(",")]
    assert mailto_part == "<mailto:unsubscribe@acme.test?subject=unsubscribe>"
    assert https_part.startswith(f"<{BASE}/u/") and https_part.endswith(">")
    unsub = SIGNER.verify(https_part[len(BASE) + 4 : -1], "unsubscribe")
    assert unsub == {
        "kind": "unsubscribe",
        "message_id": built.message_id,
        "contact_id": "c-1",
        "channel": "email",
        "purpose": "marketing",
    }


def test_message_id_is_deterministic() -> None:
    a, b = compose(), compose(date=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert a.message_id == b.message_id
    assert a.links == b.links
    assert compose(message_key="journey/trial/c-1|welcome|2").message_id != a.message_id
    assert message_id_for("k", "acme.test") == "<8254c329a92850f6d539dd376f4816ee@acme.test>"  # sha256("k")[:32]


def test_mime_structure_text_then_html_utf8() -> None:
    msg = reparse(compose().message)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert msg.get_body(("plain",)).get_content().startswith("Hi Ána <team>\nPricing: ")  # type: ignore[union-attr]


def test_links_rewritten_and_recoverable() -> None:
    built = compose()
    assert built.links == [
        "https://example.com/pricing?plan=team&x=1",
        "https://example.com/docs",
        "https://example.com/blog",
    ]
    msg = reparse(built.message)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    hrefs = re.findall(r'href="([^"]*)"', html)
    tracked = [h for h in hrefs if h.startswith(f"{BASE}/c/")]
    assert [built.links[click_index(h, built.message_id)] for h in tracked] == [
        "https://example.com/pricing?plan=team&x=1",
        "https://example.com/docs",
        "https://example.com/pricing?plan=team&x=1",
    ]
    assert "mailto:help@acme.test" in hrefs and "#top" in hrefs
    assert 'class="cta"' in html  # the rest of the tag is kept
    assert "https://example.com/commented" in html  # comments are not links
    own = [h for h in hrefs if h.startswith(f"{BASE}/u/") or h.startswith(f"{BASE}/p/")]
    assert len(own) == 2  # unsubscribe and preferences stay direct
    assert "example.com" not in " ".join(tracked)

    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    text_urls = re.findall(rf"{re.escape(BASE)}/c/[A-Za-z0-9_-]+", text)
    assert [built.links[click_index(u, built.message_id)] for u in text_urls] == [
        "https://example.com/pricing?plan=team&x=1",
        "https://example.com/blog",
    ]
    assert "Blog (" + text_urls[1] + ")." in text
    assert f"Unsubscribe: {BASE}/u/" in text
    assert "https://example.com" not in text


def test_open_pixel_before_body_end() -> None:
    built = compose()
    html = reparse(built.message).get_body(("html",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf'<img src="{re.escape(BASE)}/o/([^"]+)" width="1" height="1" alt=""[^>]*></body>', html)
    assert match, html[-300:]
    assert SIGNER.verify(match.group(1), "open") == {
        "kind": "open",
        "message_id": built.message_id,
        "contact_id": "c-1",
    }
    with pytest.raises(BadToken):
        SIGNER.verify(match.group(1), "click")


def test_mailto_unsubscribe_is_optional() -> None:
    msg = compose(unsubscribe_mailto=None).message
    assert "mailto" not in str(msg["List-Unsubscribe"])
    assert str(msg["List-Unsubscribe"]).startswith(f"<{BASE}/u/")


@pytest.mark.parametrize("flatten", ["as_bytes", "aiosmtplib"])
def test_long_headers_are_not_mangled_on_the_wire(flatten: str) -> None:
    msg = compose().message
    raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")) if flatten == "as_bytes" else flatten_message(msg)
    header = next(line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
    assert b"=?utf-8?" not in header and b"<http://127.0.0.1:8025/u/" in header
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_bad_addresses_are_clear_errors() -> None:
    rendered = RenderedEmail(subject="s", html="<p>h</p>", text="t")
    common = dict(message_key="k", base_url=BASE, signer=SIGNER, contact_id="c", domain="acme.test")
    for bad in ("not an address", "a@b.test, c@d.test", "x@y.test\r\nBcc: evil@z.test"):
        with pytest.raises(BuildError, match="^To: "):
            build_email(rendered, to=bad, sender="n@acme.test", **common)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="domain"):
        message_id_for("k", "bad domain")


def test_html_without_body_gets_pixel_at_end() -> None:
    built = build_email(
        RenderedEmail(subject="s", html="<p><a href=https://x.test/a>a</a>", text="no links"),
        to="a@b.test", sender="n@acme.test", message_key="k", base_url=BASE + "/", signer=SIGNER,
        contact_id="c", domain="acme.test",
    )
    html = built.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert built.links == ["https://x.test/a"]
    assert html.startswith(f'<p><a href="{BASE}/c/') and f'<img src="{BASE}/o/' in html


def test_output_does_not_depend_on_process_time_zone() -> None:
    before = compose().message.as_bytes()
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    try:
        after = compose().message.as_bytes()
    finally:
        if old is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = old
        time.tzset()
    strip = lambda raw: re.sub(rb"=+\d+==", b"", raw)  # noqa: E731 - MIME boundaries are random
    assert strip(before) == strip(after)
    assert b"Date: Tue, 04 Mar 2025 05:06:07 +0000" in after


def test_rewriting_handles_multiline_tags_and_skips_scripts() -> None:
    links = TrackingLinks(BASE, SIGNER, "<m@acme.test>", "c-1")
    html = (
        '<html>\r\n<body>\n\t<a\n   class="x" href="https://a.test/1"\n>A</a>'
        ' <script>var s = "<a href=https://no.test>";</script>\n<a href=https://b.test/2>B</a></body></html>'
    )
    out, _, urls = track(html, "", links)
    assert urls == ["https://a.test/1", "https://b.test/2"]
    assert f'<a\n   class="x" href="{links.click_url(0)}"\n>A</a>' in out
    assert '"<a href=https://no.test>"' in out
    assert f'<a href="{links.click_url(1)}">B</a>' in out
