"""Email and SMS templates: finding their files, checking them, carrying them into the IR.

Files live in `templates/` next to the journey:
  email NAME   -> NAME.subject.txt, NAME.html, NAME.txt       (locale: NAME.es.subject.txt, ...)
                  NAME.mjml instead of NAME.html: MJML, compiled to the html part here (compiler/mjml.py)
  SMS NAME     -> NAME.sms.txt                                 (locale: NAME.es.sms.txt)
A locale variant must be complete. Every template is parsed with Jinja2 (syntax errors
with file:line), its variables must be in TEMPLATE_VARIABLES, and attribute names that
start with "_" are refused (the usual way out of a template sandbox).
Shared parts are files whose name starts with "_" (`_layout.html`, `_footer.txt`): never a template
themselves, they are what `{% extends %}`, `{% include %}`, `{% import %}` and `{% from %}` may
name, as a literal string. They are checked like templates and bundled into the IR with them.
Parsing is cached per file (path, size, mtime): 1,000 journeys sharing templates parse each once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from compiler.conditions import did_you_mean
from compiler.ir import EmailTemplate, SmsTemplate
from compiler.template_vars import TEMPLATE_VARIABLES

Issue = tuple[int, int, str]  # 1-based line, col inside the template text; message

EMAIL_PARTS = ("subject.txt", "html", "txt")
NOTIFY_PARTS = ("subject.txt", "txt")  # html optional: the text stands in
SMS_PARTS = ("sms.txt",)
_LOCALE = r"[a-z]{2}(?:-[a-z0-9]{2,8})?"
_KNOWN = sorted(TEMPLATE_VARIABLES)
PART_NAME = re.compile(r"^_[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)+$")  # a file in templates/, no path
_KEYWORDS = {"Extends": "extends", "Include": "include", "Import": "import", "FromImport": "from"}


@lru_cache(maxsize=1)
def _environment():  # type: ignore[no-untyped-def]
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment()


Ref = tuple[int, int, str]  # line, col of the tag naming a shared part; the part's name


@dataclass(frozen=True)
class Analysis:
    """What checking one template source found."""

    issues: tuple[Issue, ...]
    refs: tuple[Ref, ...]  # the shared parts it names (well-formed names only)


def check_template_source(source: str) -> tuple[Issue, ...]:
    """Jinja2 syntax, unknown variables, "_" attributes and bad part names, each with its line and column."""
    return analyse(source).issues


@lru_cache(maxsize=4096)
def analyse(source: str) -> Analysis:
    """The issues of a template source and the shared parts it names."""
    from jinja2 import TemplateSyntaxError

    try:
        tree = _environment().parse(source)
        return _analyse(source, tree)
    except TemplateSyntaxError as exc:
        return Analysis(((exc.lineno or 1, 1, f"template syntax error: {exc.message}"),), ())
    except (MemoryError, RecursionError):  # thousands of nested brackets, tags or filters
        return Analysis(((1, 1, "template is nested too deeply"),), ())


def _analyse(source: str, tree: Any) -> Analysis:
    issues = _template_issues(source, tree)
    refs: list[Ref] = []
    for line, col, name in _references(source, tree):
        if isinstance(name, str) and PART_NAME.match(name):
            refs.append((line, col, name))
        else:
            shown = f'"{name}"' if isinstance(name, str) else "a computed name"
            issues.append((line, col, f'{shown} is not a shared part: extends, include and import take a literal '
                                      f'file name starting with "_" in templates/, like "_layout.html"'))
    return Analysis(tuple(issues), tuple(refs))


def _references(source: str, tree: Any) -> list[tuple[int, int, object]]:
    """(line, col, name or None when not a literal string) of every tag that loads another template."""
    from jinja2 import nodes

    out: list[tuple[int, int, object]] = []
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        line, col = _find(source, _KEYWORDS[type(node).__name__], node.lineno)
        template = node.template
        out.append((line, col, template.value if isinstance(template, nodes.Const) and isinstance(template.value, str) else None))
    return out


def _template_issues(source: str, tree: Any) -> list[Issue]:
    from jinja2 import TemplateSyntaxError, meta, nodes

    issues = _unknown_filters_and_tests(source, tree)
    try:  # generates code: an unknown filter or test would raise here
        undeclared = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        return issues or [(exc.lineno or 1, 1, f"template error: {exc.message}")]
    for name in sorted(undeclared - TEMPLATE_VARIABLES):
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


def _unknown_filters_and_tests(source: str, tree: Any) -> list[Issue]:
    """`{{ x | t0ojson }}` or `{% if x is nmber %}`: Jinja2 parses them and fails only at render."""
    from jinja2 import nodes

    env = _environment()
    issues: list[Issue] = []
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        kind, known = ("filter", env.filters) if isinstance(node, nodes.Filter) else ("test", env.tests)
        if node.name not in known:
            line, col = _find(source, node.name, node.lineno)
            issues.append((line, col, f'unknown template {kind} "{node.name}"{did_you_mean(node.name, sorted(known))}'))
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
    refs: tuple[Ref, ...] = ()  # shared parts it names


_FILE_CACHE: dict[Path, tuple[tuple[int, int], TemplateFile]] = {}
_DIR_CACHE: dict[Path, tuple[int, dict[str, dict[str, set[str]]]]] = {}
_PARTS = ("subject.txt", "sms.txt", "html", "mjml", "txt")  # longest first: "x.sms.txt" is not "x.sms" + "txt"
_FILE_NAME = re.compile(rf"^([a-z0-9][a-z0-9-]*)(?:\.({_LOCALE}))?\.({'|'.join(re.escape(p) for p in _PARTS)})$")


def _cached(path: Path, read: Callable[[Path], TemplateFile]) -> TemplateFile:
    """`read(path)`, cached until the file's mtime or size changes."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _FILE_CACHE.get(path)
    if hit and hit[0] == stamp:
        return hit[1]
    entry = read(path)
    _FILE_CACHE[path] = (stamp, entry)
    return entry


def read_template(path: Path) -> TemplateFile:
    return _cached(path, _read_template)


def _read_template(path: Path) -> TemplateFile:
    try:
        text = path.read_text(encoding="utf-8")
        analysis = analyse(text)
        issues, refs = analysis.issues, analysis.refs
    except UnicodeDecodeError as exc:
        text, issues, refs = "", ((1, 1, f"template is not UTF-8 text (byte {exc.start})"),), ()
    return TemplateFile(path, text, issues, refs)


def read_mjml(path: Path) -> TemplateFile:
    """An MJML file as the html part: its text is the compiled HTML; its issues (MJML structure,
    then Jinja) are positioned in the MJML source. Cached like `read_template`."""
    return _cached(path, _read_mjml)


def _read_mjml(path: Path) -> TemplateFile:
    from compiler.mjml import compile_mjml

    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        entry = TemplateFile(path, "", ((1, 1, f"template is not UTF-8 text (byte {exc.start})"),))
    else:
        html, issues = compile_mjml(source)
        analysis = analyse(source)
        entry = TemplateFile(path, html, tuple(issues) + analysis.issues, analysis.refs)
    return entry


def _read_part(folder: Path, key: str, part: str, files: set[str]) -> TemplateFile:
    """The file of one part of variant `key`; the html part from NAME.mjml when that is the file."""
    if part == "html" and "mjml" in files:
        return read_mjml(folder / f"{key}.mjml")
    return read_template(folder / f"{key}.{part}")


def template_index(folder: Path) -> dict[str, dict[str, set[str]]]:
    """{name: {"name" or "name.es": {part, ...}}} of the files in `folder`, cached until it changes."""
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return {}
    hit = _DIR_CACHE.get(folder)
    if hit and hit[0] == stamp:
        return hit[1]
    index: dict[str, dict[str, set[str]]] = {}
    for file_name in os.listdir(folder):
        m = _FILE_NAME.match(file_name)
        if m:
            name, locale, part = m.groups()
            index.setdefault(name, {}).setdefault(f"{name}.{locale}" if locale else name, set()).add(part)
    _DIR_CACHE[folder] = (stamp, index)
    return index


@dataclass
class Found:
    """A template's complete variants ("name", "name.es") as file parts, and what is missing."""

    parts: dict[str, dict[str, TemplateFile]]
    missing: list[str]  # messages about absent files


def find_template(folder: Path, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Found:
    files = template_index(folder).get(name, {})
    # an MJML file stands for the html part
    variants = {k: (v | {"html"} if "mjml" in v else v) & set(required + optional) for k, v in files.items()}
    variants = {k: v for k, v in variants.items() if v}
    parts: dict[str, dict[str, TemplateFile]] = {}
    missing = [f'template "{k}" has both {k}.html and {k}.mjml in {folder}: keep one'
               for k in sorted(files) if {"html", "mjml"} <= files[k] and "html" in variants.get(k, set())]
    for key in [name] + sorted(k for k in variants if k != name):
        absent = [f"{key}.{p}" for p in required if p not in variants.get(key, set())]
        if absent and key == name:
            missing.append(f'template "{name}" is missing {", ".join(absent)} in {folder}')
        elif absent:
            missing.append(f'locale variant "{key}" is incomplete: missing {", ".join(absent)} in {folder}')
        else:
            parts[key] = {p: _read_part(folder, key, p, files[key]) for p in sorted(variants[key])}
    return Found(parts, missing)


@dataclass
class Pieces:
    """The shared parts some template files use, directly or through each other."""

    files: dict[str, TemplateFile]  # part name -> its file
    missing: list[tuple[Path, int, int, str]]  # (naming file, line, col, message)


def collect_parts(folder: Path, files: Iterable[TemplateFile]) -> Pieces:
    """Follow the references of `files` through the shared parts in `folder`, transitively."""
    found: dict[str, TemplateFile] = {}
    missing: list[tuple[Path, int, int, str]] = []
    todo = list(files)
    while todo:
        f = todo.pop()
        for line, col, name in f.refs:
            if name in found:
                continue
            path = folder / name
            if path.is_file():
                found[name] = read_template(path)
                todo.append(found[name])
            else:
                known = sorted(p.name for p in folder.glob("_*")) if folder.is_dir() else []
                missing.append((f.path, line, col, f'shared part "{name}" not found in {folder}{did_you_mean(name, known)}'))
    return Pieces(found, missing)


def email_template(parts: dict[str, TemplateFile]) -> EmailTemplate:
    text = parts["txt"].text
    html = parts["html"].text if "html" in parts else text
    return EmailTemplate(subject=parts["subject.txt"].text.strip(), html=html, text=text)


def sms_template(parts: dict[str, TemplateFile]) -> SmsTemplate:
    return SmsTemplate(body=parts["sms.txt"].text.rstrip("\n"))
