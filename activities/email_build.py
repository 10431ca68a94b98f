"""Turn a rendered email into a sendable `EmailMessage` with tracking.

- every http(s) `<a href>` in the html and every http(s) URL in the text part becomes
  `{base_url}/c/{click token}`; the originals are returned in index order (each distinct URL once),
  and the tracking server redirects only to a stored URL;
- links to the tracking server itself (unsubscribe, preferences, confirm), `mailto:`, `tel:`,
  fragments and relative links are left alone;
- a 1x1 open pixel `{base_url}/o/{open token}` goes before `</body>`;
- `Message-ID` is derived from a key (run, step, visit), so a retried send carries the same id;
- RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage, MIMEPart
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.policy import Policy, default
from email.utils import format_datetime
from html.parser import HTMLParser
from typing import Any, Mapping

from activities.dkim_signing import DkimSigner
from activities.render import NO_PARTS, RenderedEmail, render_email
from compiler.ir import EmailTemplate
from tracking import tokens
from tracking.tokens import TokenSigner



class _VerbatimHeader(UnstructuredHeader):
    """A header kept on one line as written, whatever policy flattens the message.

    `List-Unsubscribe` holds URLs longer than 78 characters; the stock folding would turn them
    into RFC 2047 encoded words, which mail clients do not decode there. The generator calls
    the header's own `fold`, so this holds for aiosmtplib's flattening too.
    """

    def fold(self, *, policy: Policy) -> str:  # type: ignore[override]
        return f"{self.name}: {self}{policy.linesep}"


class _SignatureHeader(UnstructuredHeader):
    """`DKIM-Signature`: folded only where its value already has whitespace (a line break before
    it), which relaxed canonicalisation ignores; never re-encoded."""

    def fold(self, *, policy: Policy) -> str:  # type: ignore[override]
        lines = [f"{self.name}:"]
        for word in re.findall(r"\s*\S+", f" {self}"):
            if len(lines[-1]) + len(word) > 78 and lines[-1].strip() and word[0].isspace():
                lines.append("")
            lines[-1] += word
        return policy.linesep.join(lines) + policy.linesep


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _VerbatimHeader)
_HEADERS.map_to_type("dkim-signature", _SignatureHeader)
POLICY = default.clone(header_factory=_HEADERS)


class BuildError(ValueError):
    """Bad input for a message (an unusable address, a header with a line break, ...)."""


@dataclass(frozen=True)
class BuiltEmail:
    message: EmailMessage
    message_id: str  # the Message-ID header value, with its angle brackets
    links: list[str]  # original URLs; the click token's `link` is an index into this list


def message_id_for(message_key: str, domain: str) -> str:
    """`<sha256(key)[:32]@domain>`: the same key always gives the same id."""
    if not domain or any(ch in domain for ch in "<>@ \r\n"):
        raise BuildError(f"invalid Message-ID domain {domain!r}")
    return f"<{hashlib.sha256(message_key.encode('utf-8')).hexdigest()[:32]}@{domain}>"


@dataclass(frozen=True)
class TrackingLinks:
    """The signed URLs of one message."""

    base_url: str
    signer: TokenSigner
    message_id: str
    contact_id: str | int
    channel: str = "email"
    purpose: str = "marketing"

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")

    def is_own(self, url: str) -> bool:
        return url.startswith(self.root + "/")

    def click_url(self, index: int) -> str:
        token = self.signer.sign(
            tokens.CLICK, message_id=self.message_id, link=index, contact_id=self.contact_id
        )
        return f"{self.root}/c/{token}"

    def open_url(self) -> str:
        token = self.signer.sign(tokens.OPEN, message_id=self.message_id, contact_id=self.contact_id)
        return f"{self.root}/o/{token}"

    def unsubscribe_url(self) -> str:
        token = self.signer.sign(
            tokens.UNSUBSCRIBE,
            message_id=self.message_id,
            contact_id=self.contact_id,
            channel=self.channel,
            purpose=self.purpose,
        )
        return f"{self.root}/u/{token}"

    def preferences_url(self) -> str:
        token = self.signer.sign(tokens.PREFERENCES, message_id=self.message_id, contact_id=self.contact_id)
        return f"{self.root}/p/{token}"

    def template_urls(self) -> dict[str, str]:
        """The link variables templates may use (see compiler/template_vars.py)."""
        return {"unsubscribe_url": self.unsubscribe_url(), "preferences_url": self.preferences_url()}


class InertLinks(TrackingLinks):
    """A test send's links: the unsubscribe and preferences links lead to a page that changes
    nothing (the tracking server refuses the token), so a tester cannot unsubscribe the contact."""

    def unsubscribe_url(self) -> str:
        return f"{self.root}/u/test-send"

    def preferences_url(self) -> str:
        return f"{self.root}/p/test-send"


def links_for(*, base_url: str, signer: TokenSigner, message_key: str, domain: str, contact_id: str | int,
              purpose: str = "marketing", tracking: bool = True, **_: Any) -> TrackingLinks:
    """The links of one message (build_email's keyword arguments); inert ones for a test send."""
    kind = TrackingLinks if tracking else InertLinks
    return kind(base_url, signer, message_id_for(message_key, domain), contact_id, purpose=purpose)


class _LinkTable:
    """Assigns each distinct tracked URL an index, in order of first appearance."""

    def __init__(self, links: TrackingLinks) -> None:
        self._links = links
        self.urls: list[str] = []
        self._index: dict[str, int] = {}

    def trackable(self, url: str) -> bool:
        return url.lower().startswith(("http://", "https://")) and not self._links.is_own(url)

    def tracked(self, url: str) -> str:
        if url not in self._index:
            self._index[url] = len(self.urls)
            self.urls.append(url)
        return self._links.click_url(self._index[url])


class _AnchorFinder(HTMLParser):
    """Finds `<a href>` start tags with their offsets (skips comments, scripts, styles)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, int, str, str]] = []  # (line, col, raw tag text, href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = next((value for name, value in attrs if name == "href"), None)
        raw = self.get_starttag_text()
        if href is not None and raw is not None:
            line, col = self.getpos()
            self.found.append((line, col, raw, href.strip()))

    handle_startendtag = handle_starttag


_HREF = re.compile(r"""(\shref\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)


def _rewrite_html(html: str, table: _LinkTable) -> str:
    finder = _AnchorFinder()
    finder.feed(html)
    finder.close()
    line_starts = [0]
    for match in re.finditer("\n", html):
        line_starts.append(match.end())
    out: list[str] = []
    cursor = 0
    for line, col, raw, href in finder.found:
        start = line_starts[line - 1] + col
        if html[start : start + len(raw)] != raw or not table.trackable(href):
            continue
        new_tag = _HREF.sub(lambda m: f'{m.group(1)}"{table.tracked(href)}"', raw, count=1)
        out.append(html[cursor:start])
        out.append(new_tag)
        cursor = start + len(raw)
    out.append(html[cursor:])
    return "".join(out)


_TEXT_URL = re.compile(r"""https?://[^\s<>"']+""", re.IGNORECASE)


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and an unbalanced closing bracket from a URL found in text."""
    while url and url[-1] in ".,;:!?)]}":
        closer = url[-1]
        opener = {")": "(", "]": "[", "}": "{"}.get(closer)
        if opener and url.count(opener) >= url.count(closer):
            break
        url = url[:-1]
    return url


def _rewrite_text(text: str, table: _LinkTable) -> str:
    def replace(match: re.Match[str]) -> str:
        url = _trim_url(match.group(0))
        rest = match.group(0)[len(url) :]
        return (table.tracked(url) if table.trackable(url) else url) + rest

    return _TEXT_URL.sub(replace, text)


def _add_pixel(html: str, open_url: str) -> str:
    pixel = (
        f'<img src="{open_url}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px;">'
    )
    at = html.lower().rfind("</body")
    return html + pixel if at < 0 else html[:at] + pixel + html[at:]


def track(html: str, text: str, links: TrackingLinks) -> tuple[str, str, list[str]]:
    """Rewrite links in both parts and add the open pixel; returns (html, text, original URLs)."""
    table = _LinkTable(links)
    html = _add_pixel(_rewrite_html(html, table), links.open_url())
    text = _rewrite_text(text, table)
    return html, text, table.urls


def _set_header(msg: EmailMessage, name: str, value: str) -> None:
    try:
        msg[name] = value
    except (ValueError, TypeError) as exc:
        raise BuildError(f"{name}: {exc}") from None
    defects = getattr(msg[name], "defects", ())
    if defects:
        raise BuildError(f"{name}: invalid value {value!r} ({defects[0]})")


def build_email(
    rendered: RenderedEmail,
    *,
    to: str,
    sender: str,
    message_key: str,
    base_url: str,
    signer: TokenSigner,
    contact_id: str | int,
    domain: str,
    purpose: str = "marketing",
    unsubscribe_mailto: str | None = None,
    reply_to: str | None = None,
    date: datetime | None = None,
    dkim: DkimSigner | None = None,
    tracking: bool = True,
    subject_prefix: str = "",
) -> BuiltEmail:
    """Assemble the tracked multipart/alternative message (text first, then html; UTF-8), DKIM-signed
    when a signer is given. `tracking=False` (a test send) keeps links as written and adds no pixel."""
    links = links_for(base_url=base_url, signer=signer, message_key=message_key, domain=domain,
                      contact_id=contact_id, purpose=purpose, tracking=tracking)
    message_id = links.message_id
    html, text, urls = track(rendered.html, rendered.text, links) if tracking else (rendered.html, rendered.text, [])

    msg = EmailMessage(policy=POLICY)
    _set_header(msg, "From", sender)
    _set_header(msg, "To", to)
    if reply_to:
        _set_header(msg, "Reply-To", reply_to)
    for name in ("From", "To"):
        if len(msg[name].addresses) != 1 or "@" not in msg[name].addresses[0].addr_spec:
            raise BuildError(f"{name}: expected one email address, got {msg[name]!s}")
    _set_header(msg, "Subject", subject_prefix + rendered.subject)
    _set_header(msg, "Date", format_datetime(date or datetime.now(timezone.utc)))
    _set_header(msg, "Message-ID", message_id)
    unsubscribe = f"<{links.unsubscribe_url()}>"
    if unsubscribe_mailto:
        if not unsubscribe_mailto.isascii() or any(ch in unsubscribe_mailto for ch in "<>, \r\n"):
            raise BuildError(f"List-Unsubscribe: invalid mailto address {unsubscribe_mailto!r}")
        unsubscribe += f", <mailto:{unsubscribe_mailto}?subject=unsubscribe>"
    _set_header(msg, "List-Unsubscribe", unsubscribe)
    _set_header(msg, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    msg["MIME-Version"] = "1.0"
    msg.make_alternative()
    for body, subtype in ((text, "plain"), (html, "html")):
        part = MIMEPart(policy=POLICY)
        part.set_content(body, subtype=subtype, charset="utf-8")
        msg.attach(part)
    if dkim is not None:
        dkim.sign(msg, wire_bytes(msg))
    return BuiltEmail(message=msg, message_id=message_id, links=urls)


def wire_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends), before dot-stuffing: what DKIM signs."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def compose_email(
    template: EmailTemplate,
    context: dict[str, Any],
    *,
    parts: Mapping[str, str] = NO_PARTS,
    **options: Any,
) -> BuiltEmail:
    """Render (with the shared `parts` the template uses) + build in one call, with
    `unsubscribe_url`/`preferences_url` added to the context; `options` are build_email's."""
    links = links_for(**options)
    rendered = render_email(template, {**context, **links.template_urls()}, parts)
    return build_email(rendered, **options)
