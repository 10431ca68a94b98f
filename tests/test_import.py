"""Contact import on SQLite and PostgreSQL: rejects, merges across sources, consent proof,
suppression, and the CLI's clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cli import main
from marketing.contact_import import ImportOptions, import_csv
from store import Store

CRM = """external_id,email,phone,first_name,last_name,company,tags,optin
C1,Ana@Example.com,600111222,Ana,Ruiz,Acme,vip;crm,yes
C2,bo@example.com,,Bo,,Beta,,
C3,not-an-email,600111333,Cy,,Gamma,,
,dee@example.com,,Dee,,,,
,DEE@example.com,+34600111444,Dee,Dupe,Delta,,
,,,NoId,,,,
C4,eve@example.com,12,Eve,,,,
"""
SHOP = """email,phone,first_name,last_name,company,orders,do_not_contact
ana@example.com,,Anita,Ruiz-Lopez,AcmeShop,3,
bo@example.com,+34 600 111 555,Bob,Bee,,1,
,600111444,,,,2,
new@example.com,,New,Buyer,,1,yes
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_crm_then_shop_merge_into_one_profile(store: Store, tmp_path: Path) -> None:
    report = tmp_path / "rejects.csv"
    crm = import_csv(store, write(tmp_path, "crm.csv", CRM), ImportOptions(
        source="crm", consents=[("email", "marketing")], mapping={"optin": "consent.sms.marketing"},
        merge_priority=["crm", "shop"], default_region="ES", wording_version="v3", stage="subscriber",
        reject_report=report))
    assert (crm.rows, crm.imported, crm.updated, crm.merged, crm.rejected, crm.no_consent) == (7, 3, 0, 1, 3, 0)
    with report.open() as f:
        assert [tuple(r) for r in csv.reader(f)][1:] == [
            ("4", "email", "invalid email 'not-an-email': An email address must have an @-sign."),
            ("7", "", "no external_id, email or phone: nothing to identify the contact by"),
            ("8", "phone", "not a valid phone number: '12'"),
        ]
    ana = store.find_contact(external_id="C1")
    assert (ana.email, ana.phone, ana.stage) == ("ana@example.com", "+34600111222", "subscriber")
    consent = {(e.channel, e.purpose): e for e in store.consent_history(ana.id)}
    assert set(consent) == {("email", "marketing"), ("sms", "marketing")}
    proof = consent["email", "marketing"]
    assert (proof.source, proof.wording_version, proof.evidence["file"], proof.evidence["row"]) == ("import:crm", "v3", "crm.csv", 2)

    store.suppress("email", "bo@example.com", reason="unsubscribe", source="test")
    shop = import_csv(store, write(tmp_path, "shop.csv", SHOP), ImportOptions(source="shop", merge_priority=["crm", "shop"], default_region="ES"))
    assert (shop.imported, shop.updated, shop.merged, shop.rejected, shop.flagged, shop.no_consent) == (1, 3, 0, 0, 2, 1)
    ana = store.get_contact(ana.id)
    assert (ana.first_name, ana.last_name, ana.attributes["company"], ana.attributes["orders"]) == ("Ana", "Ruiz", "Acme", "3")
    bo = store.find_contact(external_id="C2")
    assert (bo.first_name, bo.last_name, bo.phone) == ("Bo", "Bee", "+34600111555")  # crm wins; shop fills blanks
    assert {"source:crm", "source:shop", "suppressed"} <= set(bo.tags) and "no-consent" not in bo.tags
    dee = store.find_contact(phone="+34600111444")
    assert (dee.email, dee.attributes["orders"]) == ("dee@example.com", "2")  # matched by phone
    new = store.find_contact(email="new@example.com")
    assert {"no-consent", "suppressed"} <= set(new.tags) and store.suppression_reason("email", "new@example.com") == "dnc"
    assert store.suppression_reason("email", "bo@example.com") == "unsubscribe"  # never lifted
    assert len(store.contact_ids()) == 4


def test_cli_summary_and_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    path = write(tmp_path, "crm.csv", CRM)
    assert main(["contacts", "import", str(path), "--source", "crm", "--default-region", "ES", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("7 rows: 3 imported, 0 updated, 1 merged, 3 rejected, 0 flagged (suppressed), 3 without consent")
    assert "row 4 (email): invalid email" in out
    assert main(["contacts", "import", str(tmp_path / "missing.csv"), "--source", "x", "--db", sqlite_url]) == 2
    assert main(["contacts", "import", str(path), "--source", "x", "--map", "bad", "--db", sqlite_url]) == 2
    assert main(["contacts", "import", str(path), "--source", "x", "--consent", "email", "--db", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "expected COLUMN=FIELD" in err and "expected CHANNEL:PURPOSE" in err
