"""README.md says what the code does: every `python cli.py ...` it shows parses, and the output
it quotes for `validate` is the output."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[list[str]]:
    """Every `python cli.py ...` of the README: inline code spans and code-block lines (a quoted
    argument may span lines), without shell comments."""
    found = [shlex.split(m) for m in re.findall(r"`(python cli\.py [^`]*)`", README)]
    for lang, block in re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M):
        if lang not in ("", "sh"):
            continue
        tokens = shlex.split(block, comments=True)
        starts = [i for i, t in enumerate(tokens) if t.endswith("python") and tokens[i + 1:i + 2] == ["cli.py"]]
        found += [tokens[a:b] for a, b in zip(starts, starts[1:] + [len(tokens)])]
    return [c[2:] for c in found]


@pytest.mark.parametrize("argv", _commands(), ids=" ".join)
def test_every_command_the_readme_shows_parses(argv: list[str]) -> None:
    try:
        cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"README shows `python cli.py {' '.join(argv)}`, which the CLI refuses")


def test_the_validate_output_the_readme_quotes_is_the_output(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    quoted = re.search(r"python cli\.py validate +# (ok: [^(]*?) +\(", README)
    assert quoted, "README no longer quotes the validate output"
    monkeypatch.chdir(ROOT)
    assert cli.main(["validate"]) == 0
    assert capsys.readouterr().out.strip() == quoted.group(1)
