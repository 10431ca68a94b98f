"""`Store`: the contact store, composed of one mixin per concern (see the modules named below)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from store import schema
from store.bulk_import import BulkImportMixin
from store.codec_keys import CodecKeysMixin
from store.db import make_engine, resolve_url
from store.deployments import DeploymentsMixin
from store.gdpr import GdprMixin
from store.ingest import IngestMixin
from store.journeys import JourneysMixin
from store.marketing_state import MarketingStateMixin
from store.migrations import current_version, migrate
from store.score_log import ScoreLogMixin
from store.step_decisions import StepDecisionsMixin
from store.records import StoreError
from store.suppression import load_suppression_key


class Store(GdprMixin, JourneysMixin, MarketingStateMixin, ScoreLogMixin, BulkImportMixin, CodecKeysMixin,
            IngestMixin, StepDecisionsMixin, DeploymentsMixin):
    """Synchronous; call it from async code through `asyncio.to_thread`. Thread-safe (pooled engine)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._suppression_key = b""

    @classmethod
    def open(cls, url: str | None = None) -> "Store":
        """Open `url` (else NURTURE_DB_URL, else ./.data/nurture.db) and bring its schema up to date."""
        store = cls(resolve_url(url))
        try:
            with store._write() as conn:
                migrate(conn)
                store._suppression_key = load_suppression_key(conn, store._insert(conn, schema.settings))
        except OperationalError as exc:
            store.close()
            raise StoreError(f"cannot open {store!r}: {exc.orig}") from None
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._engine.dispose()

    def schema_version(self) -> int:
        with self._read() as conn:
            return current_version(conn)

    def applied_migrations(self) -> list[int]:
        with self._read() as conn:
            return list(conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version)).scalars())

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({make_url(self.url).render_as_string(hide_password=True)!r})"
