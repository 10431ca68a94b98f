"""The contact store: contacts, scores, consent, events, the send ledger, suppression, journeys.

SQLAlchemy Core on SQLite (default: ./.data/nurture.db) or PostgreSQL (by URL). See docs/ARCHITECTURE.md.
"""

from store.addresses import normalise_address, normalise_email, normalise_phone
from store.core import Store
from store.records import (
    ConsentDecision,
    ConsentEvent,
    ConsentState,
    Contact,
    ContactNotFound,
    Enrolment,
    Event,
    JourneyState,
    JourneyVersion,
    LedgerEntry,
    Message,
    ScoreChange,
    StageChange,
    StoreError,
)

__all__ = [
    "ConsentDecision", "ConsentEvent", "ConsentState", "Contact", "ContactNotFound", "Enrolment", "Event",
    "JourneyState", "JourneyVersion", "LedgerEntry", "Message", "ScoreChange", "StageChange", "Store",
    "StoreError", "normalise_address", "normalise_email", "normalise_phone",
]
