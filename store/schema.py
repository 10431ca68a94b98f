"""The tables of the contact store (SQLAlchemy Core). Migrations live in store/migrations.py.

Every timestamp is UTCDateTime (timezone-aware UTC); JSON columns are JSONB on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from store.db import Id, Json, UTCDateTime

metadata = MetaData()


def _contact_fk(nullable: bool = False) -> Column:
    return Column("contact_id", Id, ForeignKey("contacts.id"), nullable=nullable)


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(200), unique=True),
    Column("email", String(320), index=True),
    Column("phone", String(20), index=True),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("locale", String(35)),
    Column("timezone", String(64)),
    Column("stage", String(100), index=True),
    Column("attributes", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("erased_at", UTCDateTime),
)

# every external id that ever pointed at a contact besides its current one (import merges,
# update_contact): events from other systems may still name it; erased with the contact
contact_aliases = Table(
    "contact_aliases",
    metadata,
    _contact_fk(),
    Column("external_id", String(200), nullable=False, unique=True),
    Column("source", Text, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_contact_aliases_contact", "contact_id"),
)

contact_tags = Table(
    "contact_tags",
    metadata,
    _contact_fk(),
    Column("tag", String(200), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("contact_id", "tag", name="uq_contact_tags"),
    Index("ix_contact_tags_tag", "tag"),
)

scores = Table(
    "scores",
    metadata,
    _contact_fk(),
    Column("level", String(200), nullable=False),
    Column("points", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("contact_id", "level", name="uq_scores"),
)

score_history = Table(
    "score_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _contact_fk(),
    Column("level", String(200), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("value", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_score_history_contact", "contact_id", "at"),
)

stage_history = Table(
    "stage_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _contact_fk(),
    Column("from_stage", String(100)),
    Column("to_stage", String(100)),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_stage_history_contact", "contact_id", "at"),
)

# APPEND-ONLY: database triggers refuse UPDATE, and DELETE unless the contact is erased.
consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _contact_fk(),
    Column("channel", String(50), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    Column("source", Text, nullable=False),
    Column("wording_version", String(100)),
    Column("ip", String(64)),
    Column("user_agent", Text),
    Column("evidence", Json),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_consent_events_lookup", "contact_id", "channel", "purpose", "at"),
)

consent_decisions = Table(
    "consent_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _contact_fk(),
    Column("workflow_id", Text),
    Column("run_id", Text),
    Column("step_id", String(200)),
    Column("channel", String(50), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("basis", Text, nullable=False),
    Column("consent_event_id", Id, ForeignKey("consent_events.id")),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_consent_decisions_contact", "contact_id", "at"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _contact_fk(),
    Column("type", String(100), nullable=False),
    Column("journey_id", String(200)),
    Column("step_id", String(200)),
    Column("message_id", String(300)),
    Column("data", Json, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_events_contact_type_at", "contact_id", "type", "at"),
    Index("ix_events_message", "message_id"),
)

send_ledger = Table(
    "send_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(500), nullable=False, unique=True),
    _contact_fk(),
    Column("journey_id", String(200), nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("message_id", String(300)),
    Column("status", String(20), nullable=False),
    Column("detail", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_send_ledger_contact", "contact_id", "channel", "sent_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String(300), primary_key=True),
    _contact_fk(),
    Column("journey_id", String(200), nullable=False),
    Column("step_id", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_messages_contact", "contact_id"),
)

message_links = Table(
    "message_links",
    metadata,
    Column("message_id", String(300), ForeignKey("messages.message_id"), nullable=False),
    Column("position", Integer, nullable=False),  # 0-based, in document order
    Column("url", Text, nullable=False),
    UniqueConstraint("message_id", "position", name="uq_message_links"),
)

suppression = Table(
    "suppression",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(50), nullable=False),
    Column("address_hash", String(64), nullable=False),  # hex HMAC-SHA256
    Column("reason", String(30), nullable=False),
    Column("source", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "address_hash", name="uq_suppression"),
)

journeys = Table(
    "journeys",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("active_version", String(100)),
    Column("state", String(20), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_id", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("ir", Json, nullable=False),
    Column("deployed_at", UTCDateTime, nullable=False),
    UniqueConstraint("journey_id", "version", name="uq_journey_versions"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("journey_id", String(200), nullable=False),
    _contact_fk(),
    Column("key", String(300)),
    Column("workflow_id", Text, nullable=False),
    Column("run_id", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),  # set when the run ends (outcome recorded)
    Column("outcome", String(100)),
    Index("ix_enrolments_lookup", "journey_id", "contact_id", "started_at"),
    Index("ix_enrolments_running", "contact_id", "finished_at"),
    Index("ix_enrolments_run", "workflow_id", "run_id"),  # finish_enrolment at the end of every run
)

# one pseudonymous line per erasure: the contact id (no longer linkable to a person) and counts
erasure_log = Table(
    "erasure_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, nullable=False),
    Column("erased_at", UTCDateTime, nullable=False),
    Column("summary", Json, nullable=False),
)
