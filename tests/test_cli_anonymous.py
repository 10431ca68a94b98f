"""`python cli.py anonymous purge|list`: anonymous profiles never identified are erased after the TTL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import cli
from engine.identify import identify
from store import Store

NOW = datetime.now(timezone.utc)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    monkeypatch.setenv("NURTURE_DB_URL", url)
    monkeypatch.delenv("NURTURE_ANONYMOUS_TTL_DAYS", raising=False)
    with Store.open(url) as store:
        for name, days in (("a-100", 100), ("a-40", 40), ("a-1", 0.1)):
            cid = identify(store, user_id=None, anonymous_id=name, at=NOW - timedelta(days=days))
            store.record_event(cid, "page.visited", data={"url": "https://example.com/"}, at=NOW - timedelta(days=days))
        identify(store, user_id="crm-1", anonymous_id="a-old-but-known", at=NOW - timedelta(days=300))
        store.claim_message("wk:x", "old", at=NOW - timedelta(days=31))
        store.claim_message("wk:x", "recent", at=NOW - timedelta(days=29))
    return url


def alive(url: str) -> list[str]:
    with Store.open(url) as store:
        return [a for a in ("a-100", "a-40", "a-1", "a-old-but-known") if store.contact_of_anonymous_id(a)]


def test_purge_default_90_days_then_env_then_flag(db: str, monkeypatch, capsys) -> None:
    assert cli.main(["anonymous", "list"]) == 0
    assert "3 anonymous profile(s), 1 inactive for more than 90 days" in capsys.readouterr().out
    assert cli.main(["anonymous", "purge"]) == 0
    assert "purged 1 anonymous profile(s)" in capsys.readouterr().out
    with Store.open(db) as store:  # message ids older than 30 days forgotten: a retry that late is a new message
        assert store.claim_message("wk:x", "old") and not store.claim_message("wk:x", "recent")
    assert alive(db) == ["a-40", "a-1", "a-old-but-known"]
    monkeypatch.setenv("NURTURE_ANONYMOUS_TTL_DAYS", "30")
    assert cli.main(["anonymous", "purge"]) == 0 and alive(db) == ["a-1", "a-old-but-known"]
    assert cli.main(["anonymous", "purge", "--days", "1"]) == 0
    assert alive(db) == ["a-1", "a-old-but-known"]  # active within the day; a known contact is never purged


@pytest.mark.parametrize("argv,env", [(["--days", "0"], None), ([], "ninety"), ([], "-5")])
def test_bad_ttl_is_a_one_line_error(db: str, monkeypatch, capsys, argv, env) -> None:
    if env is not None:
        monkeypatch.setenv("NURTURE_ANONYMOUS_TTL_DAYS", env)
    assert cli.main(["anonymous", "purge", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert alive(db) == ["a-100", "a-40", "a-1", "a-old-but-known"]


def test_contacts_export_by_crm_id_shows_merged_events(db: str, capsys) -> None:
    import json

    with Store.open(db) as store:
        known = identify(store, user_id="crm-777", anonymous_id=None, traits={"email": "ada@example.com"})
        anon = store.contact_of_anonymous_id("a-40")
        identify(store, user_id="crm-777", anonymous_id="a-40")
    assert cli.main(["contacts", "export", "crm-777"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["contact"]["id"] == known and doc["anonymous_ids"] == ["a-40"]
    assert [(e["type"], e["contact_id"]) for e in doc["events"]] == [("page.visited", known)]
    assert anon != known
