"""Messages sent and their original links, so a click token can say "link N of message M"."""

from __future__ import annotations

from sqlalchemy import select

from store import schema
from store.base import StoreBase, check_text
from store.db import utcnow
from store.records import Message, StoreError

m = schema.messages.c
ml = schema.message_links.c


class MessagesMixin(StoreBase):
    def save_message(
        self, message_id: str, *, contact_id: int, journey_id: str, step_id: str, channel: str, links: list[str]
    ) -> None:
        """Record a message and its links in order (0-based positions). Idempotent: a retry keeps the first."""
        check_text("message id", message_id)
        if isinstance(links, str) or not all(isinstance(url, str) for url in links):
            raise StoreError("links must be a list of URL strings")
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            inserted = self._inserted(conn, self._insert(conn, schema.messages).values(
                message_id=message_id, contact_id=contact_id, journey_id=journey_id, step_id=step_id,
                channel=channel, created_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["message_id"]), m.message_id)
            if inserted and links:
                conn.execute(schema.message_links.insert(),
                             [{"message_id": message_id, "position": i, "url": url} for i, url in enumerate(links)])

    def get_message(self, message_id: str) -> Message | None:
        with self._read() as conn:
            row = conn.execute(select(schema.messages).where(m.message_id == message_id)).first()
            if row is None:
                return None
            links = list(conn.execute(
                select(ml.url).where(ml.message_id == message_id).order_by(ml.position)).scalars())
        return Message(row.message_id, row.contact_id, row.journey_id, row.step_id, row.channel, links, row.created_at)

    def message_link(self, message_id: str, index: int) -> str | None:
        """The original URL of link `index` (0-based) of the message, or None."""
        if not isinstance(index, int) or isinstance(index, bool):
            return None
        with self._read() as conn:
            return conn.execute(
                select(ml.url).where(ml.message_id == message_id, ml.position == index)
            ).scalar_one_or_none()

    def messages_for(self, contact_id: int) -> list[Message]:
        """Every message sent to the contact, oldest first."""
        with self._read() as conn:
            ids = list(conn.execute(
                select(m.message_id).where(m.contact_id == contact_id).order_by(m.created_at, m.message_id)).scalars())
        return [msg for msg in (self.get_message(i) for i in ids) if msg is not None]
