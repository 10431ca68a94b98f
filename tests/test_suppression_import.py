"""Do-not-contact lists: `cli.py suppress import/check`, stored as keyed hashes only, blocking
sends and flagging re-imports, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from marketing.contact_import import ImportOptions, import_csv
from marketing.suppression_lists import ListError, import_list
from store import schema

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args, "--db", db], cwd=ROOT, capture_output=True, text=True)


def test_lines_and_csv_columns_are_hashed_never_stored(store, tmp_path: Path):
    lines = tmp_path / "robinson.txt"
    lines.write_text("# national list\nAna@Example.com\n\nana@example.com\nnot-an-address\nluis@example.com\n")
    result = import_list(store, lines, "email", reason="dnc", source="Robinson list")
    assert (result.read, result.added, result.already) == (4, 2, 0) and result.invalid[0][0] == 5
    again = import_list(store, lines, "email", reason="dnc", source="Robinson list")
    assert (again.added, again.already) == (0, 2)
    assert store.suppression_reason("email", "ANA@example.com") == "dnc"
    phones = tmp_path / "dnc.csv"
    phones.write_text("name;Mobile\nAna;612 345 678\nLuis;+34 600 111 222\n")
    sms = import_list(store, phones, "sms", reason="dnc", source="Lista Robinson", default_region="ES")
    assert sms.added == 2 and store.suppression_reason("sms", "+34612345678") == "dnc"
    with store._read() as conn:
        stored = " ".join(str(v) for row in conn.execute(schema.suppression.select()) for v in row)
    assert "example.com" not in stored and "612345678" not in stored and "Lista Robinson" in stored
    with pytest.raises(ListError, match="no column phone or mobile"):
        import_list(store, _csv(tmp_path, "name,email\nA,a@example.com\n"), "sms", reason="dnc", source="x")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text)
    return path


def test_a_suppressed_address_is_flagged_when_imported_again(store, tmp_path: Path):
    import_list(store, _csv(tmp_path, "email\nana@example.com\n"), "email", reason="dnc", source="Robinson list")
    contacts = tmp_path / "crm.csv"
    contacts.write_text("email,first_name\nana@example.com,Ana\nluis@example.com,Luis\n")
    summary = import_csv(store, contacts, ImportOptions(source="crm", consents=[("email", "marketing")]))
    assert summary.flagged == 1
    ana = store.find_contact(email="ana@example.com")
    assert "suppressed" in ana.tags and "suppressed" not in store.find_contact(email="luis@example.com").tags


def test_the_cli_imports_and_checks(sqlite_url: str, tmp_path: Path):
    path = _csv(tmp_path, "phone\n+33612345678\n+33 6 12 34 56 79\nnope\n")
    out = cli("suppress", "import", str(path), "--channel", "sms", "--source", "Bloctel", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2 address(es) newly suppressed on sms, 0 already suppressed, 1 invalid, 3 read"
    assert "line 4: invalid phone number 'nope'" in out.stderr
    yes = cli("suppress", "check", "+33 6 12 34 56 79", db=sqlite_url)
    assert (yes.returncode, yes.stdout.strip()) == (0, "suppressed on sms (dnc)")
    no = cli("suppress", "check", "ana@example.com", db=sqlite_url)
    assert (no.returncode, no.stdout.strip()) == (1, "not suppressed on email")
    missing = cli("suppress", "import", str(tmp_path / "none.txt"), "--channel", "email", "--source", "x", db=sqlite_url)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
