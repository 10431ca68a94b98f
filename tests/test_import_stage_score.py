"""`stage` and `score` columns of `contacts import` (marketing/import_rows.py, contact_import.py)
on SQLite and PostgreSQL: a new contact's stage (over --stage) and starting score (score log,
reason import:<source>); unknown stages and bad scores refused with the reason; an existing
contact's stage and score never changed, a different value reported as a conflict."""

from __future__ import annotations

import csv
from pathlib import Path

from cli import main
from marketing.contact_import import ImportOptions, import_csv
from store import Store

REPO = Path(__file__).resolve().parent.parent
FILE = """external_id,email,first_name,stage,score
S1,ana@example.com,Ana,mql,62
S2,ben@example.com,Ben,,24
S3,cy@example.com,Cy,leed,7.5
S4,dee@example.com,Dee,customer,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejects(path: Path) -> list[tuple[str, ...]]:
    with path.open() as f:
        return [tuple(r) for r in csv.reader(f)][1:]


def test_new_contacts_get_the_rows_stage_and_a_starting_score(store: Store, tmp_path: Path) -> None:
    report = tmp_path / "rejects.csv"
    summary = import_csv(store, write(tmp_path, "crm.csv", FILE),
                         ImportOptions(source="crm", stage="subscriber", reject_report=report))
    assert (summary.imported, summary.refused, summary.conflicts) == (4, 2, 0)
    assert rejects(report) == [
        ("4", "stage", "field refused", 'unknown stage \'leed\' (did you mean "lead"?) '
                                        "(stages.yaml declares: subscriber, lead, mql, sql, opportunity, customer, churned)"),
        ("4", "score", "field refused", "score '7.5' is not a whole number between -1000000 and 1000000"),
    ]
    ana, ben, cy, dee = (store.find_contact(external_id=f"S{i}") for i in range(1, 5))
    assert (ana.stage, ben.stage, cy.stage, dee.stage) == ("mql", "subscriber", "subscriber", "customer")
    assert "stage" not in ana.attributes and "score" not in ana.attributes
    assert store.get_scores(ana.id) == {"global": 62} and store.get_scores(dee.id) == {}
    [change] = store.score_history(ana.id)
    assert (change.level, change.delta, change.value, change.reason) == ("global", 62, 62, "import:crm")
    assert [(s.from_stage, s.to_stage, s.reason) for s in store.stage_history(ana.id)] == [(None, "mql", "imported")]


def test_an_existing_contacts_stage_and_score_do_not_move(store: Store, tmp_path: Path) -> None:
    import_csv(store, write(tmp_path, "crm.csv", FILE), ImportOptions(source="crm"))
    again = "external_id,stage,score\nS1,customer,90\nS2,lead,24\nS4,customer,0\n"
    report = tmp_path / "rejects.csv"
    summary = import_csv(store, write(tmp_path, "again.csv", again),
                         ImportOptions(source="crm", stage="lead", reject_report=report))
    assert (summary.imported, summary.updated, summary.conflicts) == (0, 3, 3)
    assert rejects(report) == [
        ("2", "stage", "conflict", "stage 'customer' differs from the contact's 'mql': not changed "
                                   "(stages move by stages.yaml's rules)"),
        ("2", "score", "conflict", "score 90 differs from the contact's 62: not changed (scores move by scoring.yaml's rules)"),
        ("3", "stage", "conflict", "stage 'lead' differs from the contact's None: not changed "
                                   "(stages move by stages.yaml's rules)"),
    ]  # S2 the same score, S4 the same stage and 0 for a contact without a score: nothing to say
    ana, ben = store.find_contact(external_id="S1"), store.find_contact(external_id="S2")
    assert (ana.stage, ben.stage) == ("mql", None)
    assert store.get_scores(ana.id) == {"global": 62} and len(store.score_history(ana.id)) == 1
    assert store.get_scores(ben.id) == {"global": 24}


def test_a_mapped_column_and_a_given_list_of_stages(store: Store, tmp_path: Path) -> None:
    text = "email,Lifecycle\nana@example.com,Trial\nben@example.com,Paying\n"
    summary = import_csv(store, write(tmp_path, "shop.csv", text), ImportOptions(
        source="shop", mapping={"Lifecycle": "stage"}, stages=("Trial", "Paying")))
    assert (summary.imported, summary.refused) == (2, 0)
    assert store.find_contact(email="ben@example.com").stage == "Paying"


def test_cli_imports_the_demo_file_with_stages_and_scores(sqlite_url: str, tmp_path: Path, capsys) -> None:
    assert main(["contacts", "import", str(REPO / "demo" / "contacts.csv"), "--source", "demo", "--db", sqlite_url]) == 0
    assert "0 field(s) refused" in capsys.readouterr().out
    with Store.open(sqlite_url) as store:
        ana = store.find_contact(external_id="demo-1")
        assert (ana.stage, store.get_scores(ana.id), ana.attributes.get("stage")) == ("mql", {"global": 62}, None)


def test_cli_unknown_stage_option_is_one_line_exit_1(sqlite_url: str, tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "a.csv", "email\nana@example.com\n")
    assert main(["contacts", "import", str(path), "--source", "x", "--stage", "mq1", "--db", sqlite_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --stage: unknown stage 'mq1' (did you mean \"mql\"?)") and err.count("\n") == 1
    with Store.open(sqlite_url) as store:
        assert store.find_contact(email="ana@example.com") is None
