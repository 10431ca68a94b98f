"""Compiler errors: `path:line:col: message`, 1-based, one line each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.ir import Journey


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "col": self.col, "message": self.message}


@dataclass
class CompileResult:
    """What compiling one file gave: a journey, or the reasons there is none."""

    path: str
    journey: Journey | None = None
    errors: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class Problems:
    """Collects the diagnostics of one file; positions are clamped to >= 1."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def add(self, pos: tuple[int, int], message: str, path: str | None = None) -> None:
        line, col = pos
        self.items.append(Diagnostic(path or self.path, max(int(line), 1), max(int(col), 1), message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[Diagnostic]:
        """Sorted by position, duplicates dropped."""
        return sorted(set(self.items), key=lambda d: (d.path != self.path, d.path, d.line, d.col, d.message))
