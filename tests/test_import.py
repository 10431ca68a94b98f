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
    # a bad email or phone refuses that field only: C3 comes in by its phone, C4 by its email
    assert (crm.rows, crm.imported, crm.updated, crm.merged, crm.rejected, crm.refused, crm.no_consent) == (7, 5, 0, 1, 1, 2, 1)
    with report.open() as f:
        assert [tuple(r) for r in csv.reader(f)] == [
            ("row", "column", "action", "reason"),
            ("4", "email", "field refused", "invalid email 'not-an-email': An email address must have an @-sign."),
            ("7", "", "row rejected", "no usable external_id, email or phone: nothing to identify the contact by"),
            ("8", "phone", "field refused", "not a valid phone number: '12'"),
        ]
    cy, eve = store.find_contact(external_id="C3"), store.find_contact(external_id="C4")
    assert (cy.email, cy.phone, eve.email, eve.phone) == (None, "+34600111333", "eve@example.com", None)
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
    assert len(store.contact_ids()) == 6


def test_cli_summary_and_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    path = write(tmp_path, "crm.csv", CRM)
    assert main(["contacts", "import", str(path), "--source", "crm", "--default-region", "ES", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("7 rows: 5 imported, 0 updated, 1 merged, 1 rejected, 2 field(s) refused, 0 conflict(s), "
                          "0 flagged (suppressed), 5 without consent")
    assert "row 4 (email): field refused: invalid email" in out
    assert main(["contacts", "import", str(tmp_path / "missing.csv"), "--source", "x", "--db", sqlite_url]) == 1
    assert main(["contacts", "import", str(path), "--source", "x", "--map", "bad", "--db", sqlite_url]) == 1
    assert main(["contacts", "import", str(path), "--source", "x", "--consent", "email", "--db", sqlite_url]) == 1
    err = capsys.readouterr().err
    assert "cannot read" in err and "expected COLUMN=FIELD" in err and "expected CHANNEL:PURPOSE" in err


def rejects_of(path: Path) -> list[tuple[str, ...]]:
    with path.open(encoding="utf-8") as f:
        return [tuple(r) for r in csv.reader(f)][1:]


def test_a_merge_keeps_every_external_id_and_the_name_as_written(store: Store, tmp_path: Path) -> None:
    """Issue 13.3: crm-101 must still find María after a row crm-103 / Maria with her email."""
    from tracking.contact_ref import resolve, resolve_text

    first = write(tmp_path, "crm.csv", "external_id,email,first_name\ncrm-101,maria@example.com,Mari\u0301a\n")
    import_csv(store, first, ImportOptions(source="crm"))
    report = tmp_path / "rejects.csv"
    second = write(tmp_path, "crm2.csv", "external_id,email,first_name,last_name\ncrm-103,Maria@example.com,Maria,Pe\u0301rez\n")
    summary = import_csv(store, second, ImportOptions(source="crm", reject_report=report))
    assert (summary.imported, summary.updated, summary.conflicts) == (0, 1, 2)
    maria = store.find_contact(email="maria@example.com")
    assert (maria.external_id, maria.first_name, maria.last_name) == ("crm-101", "María", "Pérez")
    assert maria.first_name.encode() == b"Mar\xc3\xada"  # NFC, byte for byte
    assert [a["external_id"] for a in store.contact_aliases(maria.id)] == ["crm-103"]
    for ref in ("crm-101", "crm-103"):  # the CLI's and the events API's lookups
        assert resolve_text(store, ref) == maria.id and resolve(store, "external_id", ref) == maria.id
    assert store.contact_ids_by("external_id", ["crm-103"]) == {"crm-103": maria.id}  # enroll --csv
    assert rejects_of(report) == [
        ("2", "external_id", "conflict", "external id 'crm-103' differs from the contact's 'crm-101': kept as an alias, "
                                         "both find the contact"),
        ("2", "first_name", "conflict", "first_name 'Maria' not used: the contact's 'María' is the same name with more "
                                        "letters (kept)"),
    ]
    again = import_csv(store, second, ImportOptions(source="crm"))  # known alias: matched by it, nothing to report
    assert (again.updated, again.conflicts, len(store.contact_ids())) == (1, 1, 1)


def test_within_a_file_ids_are_kept_and_an_id_of_another_contact_is_not_moved(store: Store, tmp_path: Path) -> None:
    text = ("external_id,email,first_name\n"
            "crm-1,jose@example.com,José\n"
            "crm-2,jose@example.com,Jose\n"      # same person, a second id, the name without its accent
            "crm-3,nina@example.com,Nina\n"
            "crm-1,nina@example.com,José\n")     # crm-1 is José's, but nina@ is row 4's person
    report = tmp_path / "rejects.csv"
    summary = import_csv(store, write(tmp_path, "f.csv", text), ImportOptions(source="crm", reject_report=report))
    jose, nina = store.find_contact(external_id="crm-2"), store.find_contact(external_id="crm-3")
    assert (summary.imported, summary.merged, jose.external_id, jose.first_name, jose.email) == (
        2, 2, "crm-1", "José", "jose@example.com")
    assert store.find_contact(external_id="crm-1").id == jose.id and nina.email == "nina@example.com"
    assert [(r[0], r[1], r[2]) for r in rejects_of(report)] == [
        ("3", "first_name", "conflict"), ("5", "email", "conflict"), ("3", "external_id", "conflict")]


def test_an_identifier_of_another_stored_contact_is_a_conflict(store: Store, tmp_path: Path) -> None:
    a = store.create_contact(external_id="A-1", email="a@example.com")
    b = store.create_contact(external_id="B-1", email="b@example.com")
    report = tmp_path / "rejects.csv"
    summary = import_csv(store, write(tmp_path, "f.csv", "external_id,email\nA-1,b@example.com\n"),
                         ImportOptions(source="crm", reject_report=report))
    assert summary.conflicts == 1 and store.get_contact(a).email == "a@example.com"
    assert rejects_of(report) == [("2", "email", "conflict", f"email 'b@example.com' belongs to contact {b}, not to the "
                                                              "contact the row's other identifiers found: not used")]


def test_one_bad_field_is_refused_with_its_reason_not_the_row(store: Store, tmp_path: Path) -> None:
    text = ('email,phone,first_name,last_name,company,tags\n'
            'ana@example.com,600111222,"Ana\r\nBcc: victim@example.com",Ruiz,"Acme\nBcc: x@example.com","vip;a\x00b"\n'
            'bo@example.com,+34600111555,Bo\tBo,,Beta\tLtd,\n')
    report = tmp_path / "rejects.csv"
    summary = import_csv(store, write(tmp_path, "f.csv", text), ImportOptions(source="crm", reject_report=report))
    assert (summary.imported, summary.rejected, summary.refused) == (2, 0, 5)
    ana, bo = store.find_contact(email="ana@example.com"), store.find_contact(email="bo@example.com")
    assert (ana.first_name, ana.last_name, ana.phone, "company" in ana.attributes) == (None, "Ruiz", None, False)
    assert "vip" in ana.tags and not any("\x00" in t for t in ana.tags)
    assert (bo.first_name, bo.attributes["company"], bo.phone) == (None, "Beta\tLtd", "+34600111555")  # TAB: text only
    assert [(r[0], r[1], r[2]) for r in rejects_of(report)] == [
        ("2", "phone", "field refused"), ("2", "first_name", "field refused"), ("2", "company", "field refused"),
        ("2", "tags", "field refused"), ("3", "first_name", "field refused")]
    reasons = {(r[0], r[1]): r[3] for r in rejects_of(report)}
    assert "--default-region" in reasons["2", "phone"]  # a local number without a region says what to give
    assert reasons["2", "first_name"].startswith("first_name contains a control character (U+000D)")
    assert reasons["3", "first_name"].startswith("first_name contains a control character (U+0009)")


def test_a_refused_name_cannot_reach_a_rendered_email(store: Store, tmp_path: Path) -> None:
    """The header injection of issue 13.15: the name never gets stored, so no rendering sees it."""
    from email import message_from_bytes, policy

    from activities.email_build import compose_email
    from compiler.ir import EmailTemplate
    from tracking.tokens import TokenSigner

    text = 'email,first_name,company\nana@example.com,"Ana\r\nBcc: victim@example.com","Acme\r\nBcc: victim@example.com"\n'
    import_csv(store, write(tmp_path, "f.csv", text), ImportOptions(source="crm"))
    cid = store.find_contact(email="ana@example.com").id
    template = EmailTemplate(subject="Hi {{ contact.first_name or 'there' }} of {{ attributes.company | default('you') }}",
                             html="<p>Hi {{ contact.first_name }} {{ attributes.company | default('') }}</p>",
                             text="Hi {{ contact.first_name }}\n{{ attributes.company | default('') }}\n")
    built = compose_email(template, store.template_context(cid), to="ana@example.com", sender="news@acme.test",
                          message_key="k", base_url="http://t.test", signer=TokenSigner([b"k" * 32]),
                          contact_id=cid, domain="acme.test")
    raw = built.message.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and b"victim" not in raw and b"Bcc" not in raw
    assert parsed["Subject"] == "Hi there of you"
