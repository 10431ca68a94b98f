"""`python cli.py segments` without an action lists the segments (as `segments list` does)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cli


def test_bare_segments_lists_them_like_segments_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NURTURE_DB_URL", f"sqlite:///{tmp_path / 'nurture.db'}")
    assert cli.main(["segments"]) == 0
    bare = capsys.readouterr()
    assert cli.main(["segments", "list"]) == 0
    listed = capsys.readouterr()
    assert bare.err == "" and bare.out == listed.out
    assert "asleep-90d" in bare.out
