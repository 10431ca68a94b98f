"""Email and SMS templates: finding their files, checking them, carrying them into the IR.

Files live in `templates/` next to the journey:
  email NAME   -> NAME.subject.txt, NAME.html, NAME.txt       (locale: NAME.es.subject.txt, ...)
  SMS NAME     -> NAME.sms.txt                                 (locale: NAME.es.sms.txt)
A locale variant must be complete. Every template is parsed with Jinja2 (syntax errors
with file:line), its variables must be in TEMPLATE_VARIABLES, and attribute names that
start with "_" are refused (the usual way out of a template sandbox).
Parsing is cached per file (path, size, mtime): 1,000 journeys sharing templates parse each once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from compiler.conditions import did_you_mean
from compiler.ir import EmailTemplate, SmsTemplate
from compiler.template_vars import TEMPLATE_VARIABLES

Issue = tuple[int, int, str]  # 1-based line, col inside the template text; message

EMAIL_PARTS = ("subject.txt", "html", "txt")
NOTIFY_PARTS = ("subject.txt", "txt")  # html optional: the text stands in
SMS_PARTS = ("sms.txt",)
_LOCALE = r"[a-z]{2}(?:-[a-z0-9]{2,8})?"
_KNOWN = sorted(TEMPLATE_VARIABLES)


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


def check_template_source(source: str) -> list[Issue]:
    """Jinja2 syntax, unknown variables and "_" attributes, each with its line and column."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as exc:
        return [(exc.lineno or 1, 1, f"template syntax error: {exc.message}")]
    issues: list[Issue] = []
    for name in sorted(meta.find_undeclared_variables(tree) - TEMPLATE_VARIABLES):
        line, col = _find(source, name, 1)
        if name.startswith("_"):
            issues.append((line, col, f'template name "{name}" is not allowed (names starting with "_" are refused)'))
        else:
            issues.append((line, col, f'unknown template variable "{name}"{did_you_mean(name, _KNOWN)}'))
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            line, col = _find(source, attr, node.lineno)
            issues.append((line, col, f'attribute "{attr}" is not allowed in a template (names starting with "_" are refused)'))
    return issues


def _find(source: str, word: str, from_line: int) -> tuple[int, int]:
    """Where `word` first stands as a whole word, at or after `from_line`."""
    lines = source.split("\n")
    pattern = re.compile(r"(?<![\w])" + re.escape(word) + r"(?!\w)")
    for number in range(max(from_line, 1), len(lines) + 1):
        m = pattern.search(lines[number - 1])
        if m:
            return number, m.start() + 1
    return max(from_line, 1), 1


@dataclass(frozen=True)
class TemplateFile:
    path: Path
    text: str
    issues: tuple[Issue, ...]


_FILE_CACHE: dict[Path, tuple[tuple[int, int], TemplateFile]] = {}
_DIR_CACHE: dict[Path, tuple[int, frozenset[str]]] = {}


def read_template(path: Path) -> TemplateFile:
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _FILE_CACHE.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        text = path.read_text(encoding="utf-8")
        issues = tuple(check_template_source(text))
    except UnicodeDecodeError as exc:
        text, issues = "", ((1, 1, f"template is not UTF-8 text (byte {exc.start})"),)
    entry = TemplateFile(path, text, issues)
    _FILE_CACHE[path] = (stamp, entry)
    return entry


def list_dir(folder: Path) -> frozenset[str]:
    """File names in `folder` (cached until the folder changes)."""
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return frozenset()
    hit = _DIR_CACHE.get(folder)
    if hit and hit[0] == stamp:
        return hit[1]
    names = frozenset(os.listdir(folder))
    _DIR_CACHE[folder] = (stamp, names)
    return names


@dataclass
class Found:
    """A template's variants ("name", "name.es") as file parts, plus what is wrong with them."""

    parts: dict[str, dict[str, TemplateFile]]
    missing: list[str]  # messages about absent files


def find_template(folder: Path, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Found:
    names = list_dir(folder)
    wanted = required + optional
    suffix = "|".join(re.escape(p) for p in sorted(wanted, key=len, reverse=True))
    pattern = re.compile(rf"^{re.escape(name)}(?:\.({_LOCALE}))?\.({suffix})$")
    variants: dict[str, dict[str, TemplateFile]] = {}
    for file_name in sorted(names):
        m = pattern.match(file_name)
        if m:
            key = f"{name}.{m.group(1)}" if m.group(1) else name
            variants.setdefault(key, {})[m.group(2)] = read_template(folder / file_name)
    missing = []
    for key in [name] + sorted(k for k in variants if k != name):
        absent = [f"{key}.{p}" for p in required if p not in variants.get(key, {})]
        if absent and key == name:
            missing.append(f'template "{name}" is missing {", ".join(absent)} in {folder}')
        elif absent:
            missing.append(f'locale variant "{key}" is incomplete: missing {", ".join(absent)} in {folder}')
    return Found({k: v for k, v in variants.items() if all(p in v for p in required)}, missing)


def email_template(parts: dict[str, TemplateFile]) -> EmailTemplate:
    text = parts["txt"].text
    html = parts["html"].text if "html" in parts else text
    return EmailTemplate(subject=parts["subject.txt"].text.strip(), html=html, text=text)


def sms_template(parts: dict[str, TemplateFile]) -> SmsTemplate:
    return SmsTemplate(body=parts["sms.txt"].text.rstrip("\n"))
