"""Whatever a file holds, the compiler answers with positioned errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler import yaml_loader
from compiler.compile import compile_file
from compiler.yaml_loader import MAX_DEPTH, load_yaml


def errors_of(tmp_path: Path, content: bytes, name: str = "j.yaml") -> list[tuple[int, int, str]]:
    path = tmp_path / name
    path.write_bytes(content)
    result = compile_file(path)
    assert result.journey is None
    return [(d.line, d.col, d.message) for d in result.errors]


def test_empty_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"") == [(1, 1, "the file is empty; a journey starts with `journey: <id>`")]


def test_comment_only_file_is_empty(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"# nothing\n")[0][2].startswith("the file is empty")


def test_a_list(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"- a\n- b\n") == [
        (1, 1, "a journey file is a mapping of keys (journey, entry, steps, ...), not a list")
    ]


def test_binary(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"journey: x\n\x89PNG\xff\xfe") == [(2, 1, "not UTF-8 text (byte 0x89)")]


def test_control_character(tmp_path: Path) -> None:
    assert errors_of(tmp_path, b"journey: a\x00b\n") == [(1, 11, "YAML error: control characters are not allowed")]


def test_ten_megabytes(tmp_path: Path) -> None:
    got = errors_of(tmp_path, b"# " + b"x" * 10_000_000 + b"\n")
    assert got == [(1, 1, "file is too large (10,000,003 bytes; a journey is at most 1,000,000)")]


PARSERS = [pytest.param(yaml.loader.Loader, id="pure-python")]
if hasattr(yaml, "_yaml"):  # libyaml, as PyYAML's wheels ship it (6.0.3+: its own 1000-level limit)
    PARSERS.append(pytest.param(yaml._yaml.CParser, id="libyaml"))


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("levels", [41, 999, 1001, 5000])
def test_deep_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parser: type, levels: int) -> None:
    """Our limit answers first, whichever parser PyYAML was built with and whatever limit it has."""
    monkeypatch.setattr(yaml_loader, "_Parser", parser)
    got = errors_of(tmp_path, b"journey: " + b"[" * levels + b"]" * levels + b"\n")
    # the root mapping is level 0; the first "[" (column 10) is level 1
    assert got == [(1, 9 + MAX_DEPTH, f"nested more than {MAX_DEPTH} levels deep")]


NESTED_JOURNEY = """journey: j
entry: {manual: true}
policy:
  consent: {webhook: crm}
steps:
  - id: route
    type: branch
    cases:
      - {when: 'a%s', next: crm}
    default: crm
  - id: crm
    type: webhook
    url: https://crm.example/hook
    body: '{{ %s score }}'
"""


def test_conditions_and_templates_nested_too_deeply(tmp_path: Path) -> None:
    """CPython's parser answers 200 nested brackets with MemoryError and deeper trees with
    RecursionError; Jinja2 too: both are errors of the file, not of the compiler (found by fuzzing)."""
    text = NESTED_JOURNEY % ("{" * 200 + "ttributes", "not " * 5000)
    got = errors_of(tmp_path, text.encode(), name="j.yaml")
    assert got == [(9, 17, "condition is nested too deeply (split it into simpler conditions)"),
                   (14, 12, "template is nested too deeply")]


def test_missing_file(tmp_path: Path) -> None:
    result = compile_file(tmp_path / "nope.yaml")
    assert [(d.line, d.col, d.message) for d in result.errors] == [(1, 1, "cannot read the file: No such file or directory")]


def test_byte_order_mark_is_fine(tmp_path: Path) -> None:
    doc, errors = load_yaml("\ufeffjourney: x\n".encode().decode("utf-8-sig"))
    assert (doc.data, errors) == ({"journey": "x"}, [])


@pytest.mark.parametrize(
    "text, value",
    [
        ("a: 12", 12),
        ("a: -3", -3),
        ("a: 0.25", 0.25),
        ("a: true", True),
        ("a: ~", None),
        ("a: 2025-06-01", "2025-06-01"),  # YAML 1.2: a date is text
        ("a: '21:00'", "21:00"),
        ("a: \"no\"", "no"),
    ],
)
def test_scalars_follow_yaml_1_2(text: str, value: object) -> None:
    doc, errors = load_yaml(text)
    assert errors == [] and doc.data == {"a": value}
    assert type(doc.data["a"]) is type(value)


@pytest.mark.parametrize("text", ["a: yes", "a: Off", "a: 1:30:00", "a: 0o17", "a: 0x1F", "a: 1_000", "a: .nan", "Yes: 1", "<<: {}"])
def test_yaml_1_1_surprises_are_errors(text: str) -> None:
    _, errors = load_yaml(text)
    assert len(errors) == 1 and errors[0][0][0] == 1


def test_positions_inside_quoted_and_block_scalars() -> None:
    text = "a:\n  s: 'it''s x'\n  d: \"a\\tb x\"\n  b: |\n    one\n    two x\n"
    doc, _ = load_yaml(text)
    assert doc.data["a"] == {"s": "it's x", "d": "a\tb x", "b": "one\ntwo x\n"}
    assert doc.pos_in(("a", "s"), 5) == (2, 13)  # the "x" after the doubled quote
    assert doc.pos_in(("a", "d"), 4) == (3, 12)  # the "x" after the \t escape
    assert doc.pos_in(("a", "b"), 8) == (6, 9)  # the "x" on the block's second line
