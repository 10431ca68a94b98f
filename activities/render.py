"""Render message templates: Jinja2 in an immutable sandbox with strict undefined names.

One environment factory serves every template in the product (email subject/html/text, SMS
bodies, notify and webhook bodies); only the email html part is HTML-autoescaped.
The names a template may use are listed in compiler/template_vars.py. Shared parts
(`_layout.html`, ...) come from the run's pinned version, through a DictLoader: nothing is
ever read from the filesystem at render time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import css_inline
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from compiler.ir import EmailTemplate


class RenderError(Exception):
    """A template that cannot be rendered: bad syntax, an unknown name, or a refused operation."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


NO_PARTS: Mapping[str, str] = {}


def environment(*, html: bool, parts: Mapping[str, str] = NO_PARTS) -> ImmutableSandboxedEnvironment:
    """The sandbox; `html=True` turns on autoescaping; `parts` are what extends/include may load."""
    return _environment(html, tuple(sorted(parts.items())))


@lru_cache(maxsize=64)
def _environment(html: bool, parts: tuple[tuple[str, str], ...]) -> ImmutableSandboxedEnvironment:
    """One per (escaping, set of parts): a few layouts serve many sends. Environments are thread-safe."""
    return ImmutableSandboxedEnvironment(
        loader=jinja2.DictLoader(dict(parts)),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        auto_reload=False,
        cache_size=400,
    )


def _render(source: str, context: dict[str, Any], *, html: bool, part: str, parts: Mapping[str, str]) -> str:
    try:
        return environment(html=html, parts=parts).from_string(source).render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"{part}: shared part {exc.name!r} is not in this version") from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{part}: syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{part}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"{part}: refused by the template sandbox: {exc}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"{part}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a template is the template's fault
        raise RenderError(f"{part}: {type(exc).__name__}: {exc}") from None


def render_text(
    source: str, context: dict[str, Any], *, part: str = "template", parts: Mapping[str, str] = NO_PARTS
) -> str:
    """Render a plain-text template (SMS, notify, webhook body): no autoescaping."""
    return _render(source, context, html=False, part=part, parts=parts)


def render_html(
    source: str, context: dict[str, Any], *, part: str = "html", parts: Mapping[str, str] = NO_PARTS
) -> str:
    """Render an HTML template with autoescaping."""
    return _render(source, context, html=True, part=part, parts=parts)


_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)


def inline_css(html: str) -> str:
    """Move <style> rules into style attributes; remote stylesheets are never fetched (dropped)."""
    try:
        return _INLINER.inline(html)
    except ValueError as exc:  # css_inline's InlineError subclasses ValueError
        raise RenderError(f"html: cannot inline CSS: {exc}") from None


def render_email(
    template: EmailTemplate, context: dict[str, Any], parts: Mapping[str, str] = NO_PARTS
) -> RenderedEmail:
    """Render the three parts (with the shared `parts` they may extend or include).
    The subject becomes one line (whitespace collapsed)."""
    subject = " ".join(render_text(template.subject, context, part="subject", parts=parts).split())
    if not subject:
        raise RenderError("subject: renders empty")
    html = inline_css(render_html(template.html, context, parts=parts))
    text = render_text(template.text, context, part="text", parts=parts)
    return RenderedEmail(subject=subject, html=html, text=text)
