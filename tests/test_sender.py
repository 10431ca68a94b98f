"""The email sender: `from`/`reply_to` of a journey or sending.yaml, checked with positions,
compiled into the version; NURTURE_SENDER as the worker's last default.
(Sending with it, read back from the SMTP sink: tests/test_workflow_sends.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import cli
from activities.deps import ConfigurationError, Deps
from compiler.compile import compile_file
from compiler.sender import address_problem, normalise
from compiler.sending_model import check_sending_file

JOURNEY = "journey: hello\n{extra}entry: {{manual: true}}\nsteps:\n  - {{id: bye, type: exit}}\n"


def write_journey(folder: Path, extra: str = "") -> Path:
    path = folder / "hello.yaml"
    path.write_text(JOURNEY.format(extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", [
    "hello@northwind.example", "Northwind <hello@northwind.example>", '"Northwind, Inc." <hello@northwind.example>',
    "Café Ñandú <hola@northwind.example>", "first.last+tag@mail.northwind.example",
])
def test_good_senders(value: str) -> None:
    assert address_problem(value) is None


@pytest.mark.parametrize("value, why", [
    ("Northwind <hello@northwind>", "not a domain name"),
    ("Northwind <hello northwind.example>", "local-part@domain"),
    ("hello@@northwind.example", "local-part@domain"),
    ("Northwind <>", "no address"),
    ("North\nwind <hello@northwind.example>", "control character (U+000A)"),
    ("North\x1bwind <hello@northwind.example>", "control character (U+001B)"),
    ("North\u2028wind <hello@northwind.example>", "control character (U+2028)"),
    ("Nor<th>wind <hello@northwind.example>", "cannot contain < or >"),
    ("a b@northwind.example", "not a valid local part"),
    ("hello@northwind.123", "not a domain name"),
])
def test_bad_senders_say_why(value: str, why: str) -> None:
    assert why in (address_problem(value) or "")


def test_a_name_that_needs_quotes_is_quoted_in_the_ir(tmp_path: Path) -> None:
    assert normalise("Northwind, Inc. <hello@northwind.example>") == '"Northwind, Inc." <hello@northwind.example>'
    j = compile_file(write_journey(tmp_path, 'from: "Northwind, Inc. <hello@northwind.example>"\n')).journey
    assert j is not None and j.sender == '"Northwind, Inc." <hello@northwind.example>'


def test_a_bad_journey_from_is_a_positioned_validate_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_journey(tmp_path, 'from: "Northwind <hello@northwind>"\nreply_to: "help\\tdesk@northwind.example"\n')
    assert cli.main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{path}:2:7: from: 'Northwind <hello@northwind>' is not a valid sender: \"northwind\" is not a domain name "
        "(e.g. northwind.example; IDNs in their xn-- form)",
        f"{path}:3:11: reply_to: 'help\\tdesk@northwind.example' is not a valid sender: contains a control character "
        "(U+0009); write the sender on one line",
    ]
    assert err == "2 error(s) in 1 file(s)\n"


def test_a_bad_default_in_sending_yaml_is_positioned_there(tmp_path: Path) -> None:
    sending = tmp_path / "sending.yaml"
    sending.write_text("channels: {}\nfrom: Northwind hello@northwind.example\n", encoding="utf-8")
    rules, errors = check_sending_file(sending)
    assert rules is None
    assert [str(e) for e in errors] == [
        f"{sending}:2:7: from: 'Northwind hello@northwind.example' is not a valid sender: \"Northwind hello\" is not "
        "a valid local part (letters, digits, . and !#$%&'*+/=?^_`{|}~- ; no spaces)"
    ]
    # a journey that would use it does not compile: it would otherwise send from the wrong address
    result = compile_file(write_journey(tmp_path))
    assert result.journey is None
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'hello.yaml'}:1:1: {sending} has errors, so the default sender is unknown "
        f"(python cli.py validate {sending})"
    ]
    # ... while one with its own sender does
    assert compile_file(write_journey(tmp_path, "from: hello@northwind.example\nreply_to: a@northwind.example\n")).ok


def test_the_sender_is_part_of_the_version(tmp_path: Path) -> None:
    plain = compile_file(write_journey(tmp_path)).journey
    (tmp_path / "sending.yaml").write_text("channels: {}\nfrom: Northwind <hello@northwind.example>\n")
    defaulted = compile_file(write_journey(tmp_path)).journey
    (tmp_path / "sending.yaml").write_text("channels: {}\nfrom: Northwind <news@northwind.example>\n")
    changed = compile_file(write_journey(tmp_path)).journey
    assert plain and defaulted and changed
    assert (plain.sender, defaulted.sender, changed.sender) == (
        None, "Northwind <hello@northwind.example>", "Northwind <news@northwind.example>")
    assert len({plain.version, defaulted.version, changed.version}) == 3
    assert type(changed).from_dict(changed.to_dict()) == changed  # travels to the workflow and back


def test_the_shipped_journeys_send_as_northwind() -> None:
    j = compile_file(Path(__file__).resolve().parent.parent / "journeys" / "welcome-series.yaml").journey
    assert j is not None and j.sender == "Northwind <hello@northwind.example>"


def test_nurture_sender_is_checked_at_worker_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NURTURE_SENDER", "Northwind <hello@northwind>")
    with pytest.raises(ConfigurationError, match=r"^NURTURE_SENDER='Northwind <hello@northwind>' is not a valid sender: "):
        Deps.from_env(store=object(), signer=object())
    monkeypatch.setenv("NURTURE_SENDER", "Ops <ops@northwind.example>")
    monkeypatch.setenv("NURTURE_REPLY_TO", "help@northwind.example")
    deps = Deps.from_env(store=object(), signer=object())
    assert (deps.sender, deps.reply_to) == ("Ops <ops@northwind.example>", "help@northwind.example")
