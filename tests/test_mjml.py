"""MJML templates: NAME.mjml compiled to the html part at validate/compile time (mrml), errors at
the .mjml file's line and column, Jinja kept for send time; the shipped welcome email is MJML."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.render import render_email
from cli import main
from compiler.compile import compile_file
from compiler.mjml import compile_mjml

ROOT = Path(__file__).resolve().parent.parent

JOURNEY = """journey: mj
title: MJML
entry: {manual: true}
policy:
  consent: {email: marketing}
steps:
  - {id: hello, type: send_email, template: hello}
"""

GOOD = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hi {{ contact.first_name or "there" }}, <a href="https://example.com/a">read this</a></mj-text>
        <mj-raw>{% if "vip" in tags %}</mj-raw>
        <mj-button href="https://example.com/vip">VIP offer</mj-button>
        <mj-raw>{% endif %}</mj-raw>
        <mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


def folder_with(tmp_path: Path, mjml: str, *, html: str | None = None) -> Path:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "hello.subject.txt").write_text("Hello\n")
    (templates / "hello.txt").write_text("Hi {{ contact.first_name }}\n{{ unsubscribe_url }}\n")
    (templates / "hello.mjml").write_text(mjml)
    if html is not None:
        (templates / "hello.html").write_text(html)
    path = tmp_path / "mj.yaml"
    path.write_text(JOURNEY)
    return path


def test_an_mjml_template_compiles_to_responsive_html_that_renders_at_send_time(tmp_path: Path) -> None:
    j = compile_file(folder_with(tmp_path, GOOD)).journey
    assert j is not None
    template = j.email_template("hello")
    assert "mj-column-per-100" in template.html and "<!--[if mso" in template.html  # MJML's Outlook markup
    assert '{% if "vip" in tags %}' in template.html  # Jinja passes through to send time
    context = {"contact": {"first_name": "Ana"}, "tags": ["vip"], "unsubscribe_url": "https://t.example/u/x"}
    rendered = render_email(template, context)
    assert "Hi Ana" in rendered.html and "VIP offer" in rendered.html and "https://t.example/u/x" in rendered.html
    assert "VIP offer" not in render_email(template, {**context, "tags": []}).html


@pytest.mark.parametrize("source, line, col, message", [
    (GOOD.replace("</mj-column>", ""), 4, 7, "<mj-column> is not closed before </mj-section> on line 11"),
    (GOOD.replace("mj-button", "mj-buton"), 7, 9, 'unknown MJML element <mj-buton> (did you mean "mj-button"?)'),
    (GOOD.replace("<mj-text><a", "</mj-text><a", 1), 9, 9, "</mj-text> closes nothing"),
    (GOOD.replace("<mj-body>", '<mj-head><mj-include path="head.mjml" /></mj-head>\n  <mj-body>'), 2, 12,
     "<mj-include> is not supported"),
    (GOOD.replace("<mj-body>", "<mj-head>{{ contact.first_name }}</mj-head>\n  <mj-body>"), 2, 12,
     "MJML: unexpected token in root template"),
    (GOOD.replace("tags", "tagz"), 6, 32, 'unknown template variable "tagz" (did you mean "tags"?)'),
    ("<html><body>hi</body></html>", 1, 1, "an MJML template starts with <mjml>"),
])
def test_mjml_errors_name_the_file_line_and_column(tmp_path: Path, capsys, source: str, line: int, col: int,
                                                   message: str) -> None:
    path = folder_with(tmp_path, source)
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    said = out.out + out.err
    assert code == 1
    assert f"{tmp_path / 'templates' / 'hello.mjml'}:{line}:{col}: {message}" in said


def test_mjml_and_html_for_the_same_template_is_an_error(tmp_path: Path, capsys) -> None:
    path = folder_with(tmp_path, GOOD, html="<p>Hi</p>")
    assert main(["validate", str(path)]) == 1
    assert 'template "hello" has both hello.html and hello.mjml' in capsys.readouterr().out


def test_the_demo_welcome_email_is_mjml() -> None:
    templates = ROOT / "journeys" / "templates"
    assert not (templates / "welcome-1.html").exists()
    for name in ("welcome-1.mjml", "welcome-1.es.mjml"):
        html, issues = compile_mjml((templates / name).read_text())
        assert issues == [] and "{{ unsubscribe_url }}" in html and "{{ preferences_url }}" in html
    j = compile_file(ROOT / "journeys" / "welcome-series.yaml").journey
    assert j is not None and "mj-column-per-100" in j.email_template("welcome-1", "es").html
