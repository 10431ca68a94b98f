"""MJML email templates (`NAME.mjml`): compiled to HTML with mrml at validate/compile time.

The MJML source is also a Jinja2 template: `{{ ... }}` and `{% ... %}` pass through MJML as text
and are rendered at send time like any `.html` template (the compiled HTML is what the IR holds).
mrml reports errors without a position and passes unknown elements through silently, so the
source is checked first, with line and column: every `mj-*` element opened is closed, in order,
and is a known MJML element; `mj-include` is refused (templates never read files at send time:
use `{% include "_part.html" %}` inside `<mj-raw>`). After compiling, a Jinja tag MJML dropped
(one outside any element's content) is reported where it stands.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from compiler.conditions import did_you_mean

Issue = tuple[int, int, str]

ELEMENTS = frozenset({
    "mjml", "mj-head", "mj-body", "mj-attributes", "mj-all", "mj-class", "mj-breakpoint", "mj-font",
    "mj-html-attributes", "mj-html-attribute", "mj-selector", "mj-preview", "mj-style", "mj-title",
    "mj-accordion", "mj-accordion-element", "mj-accordion-title", "mj-accordion-text", "mj-button",
    "mj-carousel", "mj-carousel-image", "mj-column", "mj-divider", "mj-group", "mj-hero", "mj-image",
    "mj-navbar", "mj-navbar-link", "mj-raw", "mj-section", "mj-social", "mj-social-element", "mj-spacer",
    "mj-table", "mj-text", "mj-wrapper",
})
_KNOWN = sorted(ELEMENTS)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


class _Structure(HTMLParser):
    """Opens and closes of MJML elements, with their positions; other tags are content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int, int]] = []
        self.issues: list[Issue] = []

    def _pos(self) -> tuple[int, int]:
        line, col = self.getpos()
        return line, col + 1

    def _known(self, tag: str) -> bool:
        if tag != "mjml" and not tag.startswith("mj-"):
            return False
        line, col = self._pos()
        if tag == "mj-include":
            self.issues.append((line, col, "<mj-include> is not supported: templates never read files when they are "
                                           'sent; put {% include "_part.html" %} inside <mj-raw>'))
            return False
        if tag not in ELEMENTS:
            self.issues.append((line, col, f"unknown MJML element <{tag}>{did_you_mean(tag, _KNOWN)}"))
            return False
        return True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._known(tag):
            self.stack.append((tag, *self._pos()))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._known(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ELEMENTS:  # content, or an unknown element already reported at its start
            return
        line, col = self._pos()
        if not any(open_tag == tag for open_tag, _, _ in self.stack):
            self.issues.append((line, col, f"</{tag}> closes nothing" + (
                f" (<{self.stack[-1][0]}> from line {self.stack[-1][1]} is open)" if self.stack else "")))
            return
        while self.stack and self.stack[-1][0] != tag:
            inner, l, c = self.stack.pop()
            self.issues.append((l, c, f"<{inner}> is not closed before </{tag}> on line {line}"))
        self.stack.pop()

    def finish(self) -> list[Issue]:
        self.close()
        for tag, line, col in self.stack:
            self.issues.append((line, col, f"<{tag}> is never closed"))
        return self.issues


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


_AT = re.compile(r"\s*at position (\d+):\d+")


def _mrml_issue(source: str, message: str) -> Issue:
    """mrml's message, placed where its `at position START:END` (UTF-8 byte offsets) points."""
    found = _AT.search(message)
    if not found:
        return 1, 1, f"MJML: {message}"
    offset = len(source.encode("utf-8")[: int(found.group(1))].decode("utf-8", "ignore"))
    line, col = _position(source, offset)
    return line, col, f"MJML: {_AT.sub('', message)}"


def compile_mjml(source: str) -> tuple[str, list[Issue]]:
    """(the HTML, []) or ("", positioned issues)."""
    import mrml

    stripped = source.lstrip()
    if not stripped.startswith("<mjml"):
        return "", [(1, 1, "an MJML template starts with <mjml>")]
    checker = _Structure()
    checker.feed(source)
    issues = checker.finish()
    if issues:
        return "", issues
    try:
        html = mrml.to_html(source).content
    except Exception as exc:  # noqa: BLE001 - mrml raises plain OSError/ValueError
        return "", [_mrml_issue(source, str(exc))]
    kept = Counter(_JINJA.findall(html))
    dropped: list[Issue] = []
    for match in _JINJA.finditer(source):
        if kept[match.group(0)] > 0:
            kept[match.group(0)] -= 1
        else:
            line, col = _position(source, match.start())
            dropped.append((line, col, f"MJML dropped the template tag {match.group(0)[:40]!r} here: "
                                       "put it inside <mj-text> or <mj-raw>"))
    return ("", dropped) if dropped else (html, [])
