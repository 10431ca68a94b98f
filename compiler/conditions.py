"""Conditions: a small, safe subset of Python expressions over a contact's profile.

`check(source)` lists the mistakes (0-based character offset inside the source, message);
`evaluate(source, profile)` computes the value deterministically. Both walk Python's
own `ast` with an allow-list, so nothing outside it (calls, `**`, subscripts, dunder
attributes, lambdas...) is ever evaluated. Pure functions: safe in workflow code.

Profile shape (what `read_profile` returns):
    {"score": int, "scores": {level: int}, "temperature": "cold"|"warm"|"hot",
     "stage": str, "tags": [str], "attributes": {name: value}, "consent": {channel: bool}}
"""

from __future__ import annotations

import ast
import difflib
from functools import lru_cache
from typing import Any

SIMPLE_NAMES = ("score", "temperature", "stage", "tags")
DOTTED_NAMES = ("scores", "attributes", "consent")
LITERAL_NAMES = {"true": True, "false": False, "True": True, "False": False, "null": None, "None": None}
ALL_NAMES = SIMPLE_NAMES + DOTTED_NAMES + tuple(LITERAL_NAMES)

_COMPARE_OPS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class ConditionError(ValueError):
    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col = col
        self.message = message


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean "x"?)' or '' — shared by every error that names something."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def check(source: str) -> list[ConditionError]:
    """Every mistake in `source`, each with its 0-based character offset (`col`)."""
    found: list[tuple[ast.AST, str]] = []
    try:
        tree = ast.parse(source.strip() and source, mode="eval")
        _check_node(tree.body, found)
    except SyntaxError as exc:
        at = _offset(source, exc.lineno or 1, (exc.offset or 1) - 1, utf8=False)
        return [ConditionError(at, f"condition syntax error: {exc.msg}")]
    except (MemoryError, RecursionError):  # CPython's parser on ~200 nested brackets or thousands of operators
        return [ConditionError(0, "condition is nested too deeply (split it into simpler conditions)")]
    return [ConditionError(_offset(source, getattr(node, "lineno", 1), getattr(node, "col_offset", 0)), message)
            for node, message in found]


def _offset(source: str, lineno: int, col: int, *, utf8: bool = True) -> int:
    """The 0-based character offset in `source` of (1-based line, column): a condition written
    over several lines (a YAML `|` block) has its mistakes on their own line. `ast` counts
    columns in UTF-8 bytes, SyntaxError in characters."""
    lines = source.split("\n")
    lineno = min(max(lineno, 1), len(lines))
    line = lines[lineno - 1]
    if utf8:
        col = len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
    return sum(len(x) + 1 for x in lines[: lineno - 1]) + max(min(col, len(line)), 0)


def _check_node(node: ast.AST, errors: list[tuple[ast.AST, str]]) -> None:
    """Append (node, message) for every mistake under `node`."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check_node(v, errors)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        _check_node(node.operand, errors)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE_OPS:
                errors.append((node, f"operator {type(op).__name__} is not allowed"))
        _check_node(node.left, errors)
        for c in node.comparators:
            _check_node(c, errors)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool)) or node.value is Ellipsis:
            errors.append((node, f"literal {node.value!r} is not allowed"))
    elif isinstance(node, (ast.List, ast.Tuple)):
        for elt in node.elts:
            _check_node(elt, errors)
    elif isinstance(node, ast.Name):
        if node.id in DOTTED_NAMES:
            errors.append((node, f'"{node.id}" needs a field, e.g. {node.id}.<name>'))
        elif node.id not in SIMPLE_NAMES and node.id not in LITERAL_NAMES:
            errors.append(
                (node, f'unknown name "{node.id}"{did_you_mean(node.id, ALL_NAMES)}')
            )
    elif isinstance(node, ast.Attribute):
        base = node.value
        if not isinstance(base, ast.Name) or base.id not in DOTTED_NAMES:
            where = base.id if isinstance(base, ast.Name) else "this expression"
            hint = did_you_mean(where, DOTTED_NAMES) if isinstance(base, ast.Name) else ""
            errors.append(
                (node, f'"{where}" has no fields{hint}; only scores.*, attributes.*, consent.* do')
            )
        elif node.attr.startswith("_"):
            errors.append((node, f'field "{node.attr}" is not allowed'))
    else:
        errors.append((node, f"{_describe(node)} is not allowed in a condition"))


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return "a function call"
    if isinstance(node, ast.BinOp):
        return f"arithmetic ({type(node.op).__name__})"
    if isinstance(node, ast.Subscript):
        return "indexing"
    return type(node).__name__


@lru_cache(maxsize=512)
def _compiled(source: str) -> ast.expr:
    errors = check(source)
    if errors:
        raise ConditionError(errors[0].col, errors[0].message)
    return ast.parse(source, mode="eval").body


def evaluate(source: str, profile: dict[str, Any]) -> bool:
    """The truth of `source` for `profile`. Missing fields are None; a comparison that
    makes no sense (None < 3, "a" < 1) is False rather than an error."""
    return bool(_eval(_compiled(source), profile))


def _eval(node: ast.AST, p: dict[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_eval(v, p) for v in node.values)
        return any(_eval(v, p) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, p)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(value, (int, float)) else None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, p)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, p)
            try:
                ok = _COMPARE_OPS[type(op)](left, right)
            except TypeError:
                return False
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, p) for e in node.elts]
    if isinstance(node, ast.Name):
        if node.id in LITERAL_NAMES:
            return LITERAL_NAMES[node.id]
        value = p.get(node.id)
        if node.id == "tags":
            return list(value or [])
        return value
    if isinstance(node, ast.Attribute):
        container = p.get(node.value.id) or {}  # type: ignore[attr-defined]
        return container.get(node.attr)
    raise ConditionError(getattr(node, "col_offset", 0), "not allowed")
