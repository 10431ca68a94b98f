"""Ordered schema migrations, applied by `Store.open()`.

`schema_version` holds one row per applied step. `migrate()` runs every missing step in
one transaction under a lock (a PostgreSQL advisory lock scoped to the schema; SQLite's
write lock via BEGIN IMMEDIATE), so two processes opening at once apply each step once.

Rules for new steps: append to STEPS, never edit an applied one. Step 1 creates the tables
as they are in schema.py; a later change to an existing table must be a new step that
ALTERs it *and* is a no-op when the column already exists (fresh databases get it from step 1).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, select, text

from store import schema
from store.db import utcnow
from store.codec_keys import create_codec_keys_table
from store.deployments import create_deployments_tables, name_deployment_in_logs
from store.ingest import create_ingest_tables
from store.marketing_state import create_marketing_tables
from store.step_decisions import create_step_decisions_table
from store.suppression import create_feedback_reports_table

APPEND_ONLY_MESSAGE = "consent_events is append-only: rows can only be removed by erasing the contact"
ERASURE_FINAL_MESSAGE = "an erased contact cannot be restored"


def _create_tables(conn: Connection) -> None:
    schema.metadata.create_all(conn, checkfirst=True)


_SQLITE_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS consent_events_no_update
        BEFORE UPDATE ON consent_events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS consent_events_no_delete
        BEFORE DELETE ON consent_events
        WHEN NOT EXISTS (SELECT 1 FROM contacts WHERE id = OLD.contact_id AND erased_at IS NOT NULL)
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS contacts_erasure_final
        BEFORE UPDATE OF erased_at ON contacts
        WHEN OLD.erased_at IS NOT NULL AND (NEW.erased_at IS NULL OR NEW.erased_at <> OLD.erased_at)
        BEGIN SELECT RAISE(ABORT, '{ERASURE_FINAL_MESSAGE}'); END""",
]

_POSTGRES_GUARDS = [
    f"""CREATE OR REPLACE FUNCTION nurture_consent_events_guard() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' AND EXISTS (
               SELECT 1 FROM contacts WHERE id = OLD.contact_id AND erased_at IS NOT NULL) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
        END $$""",
    """DROP TRIGGER IF EXISTS consent_events_append_only ON consent_events""",
    """CREATE TRIGGER consent_events_append_only
        BEFORE UPDATE OR DELETE ON consent_events
        FOR EACH ROW EXECUTE FUNCTION nurture_consent_events_guard()""",
    """DROP TRIGGER IF EXISTS consent_events_no_truncate ON consent_events""",
    """CREATE TRIGGER consent_events_no_truncate
        BEFORE TRUNCATE ON consent_events
        FOR EACH STATEMENT EXECUTE FUNCTION nurture_consent_events_guard()""",
    f"""CREATE OR REPLACE FUNCTION nurture_erasure_final() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.erased_at IS NOT NULL AND NEW.erased_at IS DISTINCT FROM OLD.erased_at THEN
            RAISE EXCEPTION '{ERASURE_FINAL_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
          END IF;
          RETURN NEW;
        END $$""",
    """DROP TRIGGER IF EXISTS contacts_erasure_final ON contacts""",
    """CREATE TRIGGER contacts_erasure_final
        BEFORE UPDATE OF erased_at ON contacts
        FOR EACH ROW EXECUTE FUNCTION nurture_erasure_final()""",
]


def _append_only_guards(conn: Connection) -> None:
    """Consent log: no UPDATE ever, DELETE only of an erased contact's rows; erasure is final."""
    statements = _POSTGRES_GUARDS if conn.dialect.name == "postgresql" else _SQLITE_GUARDS
    for statement in statements:
        conn.exec_driver_sql(statement)


def _enrolment_outcomes(conn: Connection) -> None:
    """enrolments.finished_at/outcome: ended runs stop receiving events (no-op on fresh databases)."""
    columns = {c["name"] for c in inspect(conn).get_columns("enrolments")}
    if "finished_at" not in columns:
        timestamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
        conn.exec_driver_sql(f"ALTER TABLE enrolments ADD COLUMN finished_at {timestamp}")
    if "outcome" not in columns:
        conn.exec_driver_sql("ALTER TABLE enrolments ADD COLUMN outcome VARCHAR(100)")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_enrolments_running ON enrolments (contact_id, finished_at)"
    )


def _enrolment_run_index(conn: Connection) -> None:
    """Every run's end closes its enrolment by (workflow id, run id): without this index that
    UPDATE reads the whole table (no-op on fresh databases)."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_enrolments_run ON enrolments (workflow_id, run_id)")


def _contact_aliases(conn: Connection) -> None:
    """contact_aliases: the earlier external ids of a contact (no-op on fresh databases)."""
    schema.contact_aliases.create(conn, checkfirst=True)


STEPS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "create tables", _create_tables),
    (2, "append-only consent log and final erasure (triggers)", _append_only_guards),
    (3, "marketing state: segment membership, rule score marks", create_marketing_tables),
    (4, "enrolment outcomes", _enrolment_outcomes),
    (5, "payload codec keys (one per contact, wrapped)", create_codec_keys_table),
    (6, "enrolments by run (closing a run's enrolment)", _enrolment_run_index),
    (7, "contact aliases (earlier external ids)", _contact_aliases),
    (8, "ingest: processed message ids, anonymous ids and profiles", create_ingest_tables),
    (9, "feedback reports handled (bounces, complaints: each once)", create_feedback_reports_table),
    (10, "step decisions: sends postponed or skipped, and why (ids and codes)", create_step_decisions_table),
    (11, "deployments: provenance, journeys and config files per apply; the deploy lock", create_deployments_tables),
    (12, "score log and consent decisions name the live deployment (deployment_id, set on insert)",
     name_deployment_in_logs),
]


def migrate(conn: Connection) -> list[int]:
    """Apply the missing steps inside the caller's write transaction; return the versions applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '/nurture-migrate'))"))
    schema.schema_version.create(conn, checkfirst=True)
    done = set(conn.execute(select(schema.schema_version.c.version)).scalars())
    applied = []
    for version, description, step in STEPS:
        if version in done:
            continue
        step(conn)
        conn.execute(
            schema.schema_version.insert().values(version=version, description=description, applied_at=utcnow())
        )
        applied.append(version)
    return applied


def current_version(conn: Connection) -> int:
    versions = conn.execute(select(schema.schema_version.c.version)).scalars().all()
    return max(versions, default=0)
