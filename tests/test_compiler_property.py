"""Property: mutate valid journeys any way (delete, duplicate, rename keys, change scalars,
truncate text) and the compiler never raises; every error has a position >= 1:1; and the
fast schema gate agrees with python-jsonschema."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.compile import compile_file
from compiler.config_files import split_files
from compiler.schema_check import fast_validator, journey_validator
from compiler.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {p.stem: p.read_text() for p in split_files([ROOT / "journeys"])[0]}
PARSED = {stem: yaml.safe_load(text) for stem, text in SOURCES.items()}
WORK = Path(tempfile.mkdtemp(prefix="nurture-prop-"))
(WORK / "templates").symlink_to(ROOT / "journeys" / "templates")

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 200), st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["end", "welcome", "3d", "P1M", "21:00", "email.clicked", "send_email", "", "x" * 300, "_x", "{{ _x }}"]),
    st.text(max_size=12),
)


def check(stem: str, text: str) -> None:
    path = WORK / f"{stem}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = compile_file(path)
    for d in result.errors:
        assert d.line >= 1 and d.col >= 1, d
        assert "internal compiler error" not in d.message, d
    assert (result.journey is None) == bool(result.errors)
    doc, _ = load_yaml(text)
    if doc.data is not None:
        assert fast_validator()(doc.data) == journey_validator().is_valid(doc.data)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, here + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, here + (i,))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    stem = draw(st.sampled_from(sorted(SOURCES)))
    data = copy.deepcopy(PARSED[stem])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        if not path:
            continue
        parent, key = _get(data, path[:-1]), path[-1]
        action = draw(st.sampled_from(["delete", "duplicate", "rename", "scalar"]))
        if action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["tempalte", "nxt", "type", "id", "on", "_x"]))] = parent.pop(key)
        else:
            parent[key] = draw(SCALARS)
    return stem, yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_structural_mutations_never_raise(case: tuple[str, str]) -> None:
    check(*case)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(SOURCES)), st.data())
def test_text_mutations_never_raise(stem: str, data: st.DataObject) -> None:
    text = SOURCES[stem]
    kind = data.draw(st.sampled_from(["truncate", "drop-line", "dup-line", "splice"]))
    cut = data.draw(st.integers(0, len(text)))
    lines = text.split("\n")
    n = data.draw(st.integers(0, len(lines) - 1))
    if kind == "truncate":
        text = text[:cut]
    elif kind == "drop-line":
        text = "\n".join(lines[:n] + lines[n + 1 :])
    elif kind == "dup-line":
        text = "\n".join(lines[: n + 1] + lines[n:])
    else:
        text = text[:cut] + data.draw(st.text(max_size=8)) + text[cut:]
    check(stem, text)
