"""`apply` without a terminal refuses (like terraform without -auto-approve) and says how to
apply in CI: `python cli.py apply --yes`."""

from __future__ import annotations

import io

import pytest

from commands.apply import confirm


def test_without_a_terminal_apply_refuses_and_names_the_flag(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a pipe: not a terminal, even saying yes
    assert confirm("apply these changes?") is False
    err = capsys.readouterr().err
    assert err == "error: nothing applied: no terminal to confirm on; to apply without asking (CI), run `python cli.py apply --yes`\n"
