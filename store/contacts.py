"""Contacts: identity, profile fields, attributes, tags and lifecycle stage.

A contact has one current external id (`contacts.external_id`) and keeps every earlier one as
an alias (`contact_aliases`): whatever looks a contact up by external id finds it by any of them.
All text is checked by store/contact_text.py (no control characters; NFC)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from store import schema
from store.addresses import check_timezone, normalise_email, normalise_phone
from store.base import BATCH, StoreBase, check_id, check_text
from store.contact_text import check_attribute_value, check_attributes, check_line
from store.db import utcnow
from store.records import Contact, ContactNotFound, StageChange, StoreError

c = schema.contacts.c
t = schema.contact_tags.c
al = schema.contact_aliases.c

PROFILE_FIELDS = ("email", "phone", "external_id", "first_name", "last_name", "locale", "timezone", "attributes")


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise contact fields; unknown names are refused."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        hint = " (use set_stage / add_tags)" if unknown & {"stage", "tags"} else ""
        raise StoreError(f"unknown contact field(s): {', '.join(sorted(unknown))}{hint}")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            out[name] = {} if name == "attributes" else None
        elif name == "email":
            out[name] = normalise_email(value)
        elif name == "phone":
            out[name] = normalise_phone(value)
        elif name == "timezone":
            out[name] = check_timezone(value)
        elif name == "attributes":
            if not isinstance(value, dict):
                raise StoreError(f"attributes must be a dict, got {type(value).__name__}")
            out[name] = check_attributes(value)
        else:
            out[name] = check_line(name, check_text(name, value)).strip()
    return out


def _clean_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        raise StoreError(f"tags must be a list of strings, got the string {tags!r}")
    return sorted({check_line("tag", check_text("tag", tag)).strip() for tag in tags})


class ContactsMixin(StoreBase):
    def create_contact(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        external_id: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        locale: str | None = None,
        timezone: str | None = None,
        stage: str | None = None,
        attributes: dict[str, Any] | None = None,
        tags: Iterable[str] = (),
    ) -> int:
        """Insert a contact and return its id. A second contact with the same external_id is refused."""
        fields = _clean_fields(
            dict(email=email, phone=phone, external_id=external_id, first_name=first_name,
                 last_name=last_name, locale=locale, timezone=timezone, attributes=attributes)
        )
        if stage is not None:
            check_text("stage", stage)
        tag_list = _clean_tags(tags)
        now = utcnow()
        try:
            with self._write() as conn:
                self._refuse_alias_of_other(conn, fields.get("external_id"), None)
                contact_id = conn.execute(
                    schema.contacts.insert().values(**fields, stage=stage, created_at=now, updated_at=now)
                ).inserted_primary_key[0]
                self._insert_tags(conn, contact_id, tag_list)
                if stage is not None:
                    conn.execute(schema.stage_history.insert().values(
                        contact_id=contact_id, from_stage=None, to_stage=stage, reason="created", at=now))
        except IntegrityError:
            raise StoreError(f"a contact with external id {external_id!r} already exists") from None
        return int(contact_id)

    def get_contact(self, contact_id: int) -> Contact | None:
        """The contact (also an erased tombstone, with erased_at set), or None."""
        check_id(contact_id)
        with self._read() as conn:
            return self._load_contact(conn, schema.contacts.select().where(c.id == contact_id))

    def find_contact(
        self, *, external_id: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Contact | None:
        """First match by external id, else email, else phone (normalised); erased contacts never match."""
        lookups = []
        if external_id is not None:
            lookups.append(c.external_id == external_id)
            lookups.append(c.id.in_(select(al.contact_id).where(al.external_id == external_id)))
        if email is not None:
            lookups.append(c.email == normalise_email(email))
        if phone is not None:
            lookups.append(c.phone == normalise_phone(phone))
        if not lookups:
            raise StoreError("find_contact needs external_id, email or phone")
        with self._read() as conn:
            for condition in lookups:
                query = schema.contacts.select().where(condition, c.erased_at.is_(None)).order_by(c.id).limit(1)
                found = self._load_contact(conn, query)
                if found is not None:
                    return found
        return None

    def contact_ids_by(self, column: str, values: list[str]) -> dict[str, int]:
        """`find_contact` for many values of one column ("external_id", "email" or "phone"), one
        query per `BATCH`: value as given -> contact id. Values that match no live contact, or
        are not a valid address, are absent."""
        if column not in ("external_id", "email", "phone"):
            raise StoreError(f"cannot look contacts up by {column!r}")
        normalise = {"email": normalise_email, "phone": normalise_phone}.get(column, str)
        wanted: dict[str, list[str]] = {}  # stored form -> the values given for it
        for value in values:
            try:
                wanted.setdefault(normalise(value), []).append(value)
            except StoreError:
                continue
        stored = list(wanted)
        found: dict[str, int] = {}
        with self._read() as conn:
            for i in range(0, len(stored), BATCH):
                rows = conn.execute(select(c[column], c.id).where(c[column].in_(stored[i:i + BATCH]), c.erased_at.is_(None))
                                    .order_by(c.id.desc()))
                for key, cid in rows:  # lowest id last: it wins, as in find_contact
                    for value in wanted[key]:
                        found[value] = cid
                if column == "external_id":  # then earlier external ids, unless a current one matched
                    aliased = conn.execute(select(al.external_id, al.contact_id).join(schema.contacts, c.id == al.contact_id)
                                           .where(al.external_id.in_(stored[i:i + BATCH]), c.erased_at.is_(None)))
                    for key, cid in aliased:
                        for value in wanted[key]:
                            found.setdefault(value, cid)
        return found

    def live_contact_ids(self, contact_ids: list[int]) -> set[int]:
        """Those of `contact_ids` that exist and are not erased."""
        with self._read() as conn:
            return self._live_ids(conn, contact_ids)

    def update_contact(self, contact_id: int, **fields: Any) -> None:
        """Replace the given profile fields (email, phone, names, locale, timezone, attributes...).
        A new (or cleared) external id keeps the one it replaces as an alias."""
        values = _clean_fields(fields)
        if not values:
            return
        try:
            with self._write() as conn:
                self._require_contact(conn, contact_id)
                if "external_id" in values:
                    self._replace_external_id(conn, contact_id, values["external_id"], "update")
                conn.execute(update(schema.contacts).where(c.id == contact_id).values(**values, updated_at=utcnow()))
        except IntegrityError:
            raise StoreError(f"external id {fields.get('external_id')!r} is already used by another contact") from None

    def set_attributes(self, contact_id: int, attrs: dict[str, Any]) -> dict[str, Any]:
        """Merge `attrs` into the contact's attributes (a None value removes the key); return the result."""
        if not isinstance(attrs, dict):
            raise StoreError(f"attributes must be a dict, got {type(attrs).__name__}")
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            current = dict(conn.execute(select(c.attributes).where(c.id == contact_id)).scalar_one() or {})
            for key, value in attrs.items():
                check_line("attribute name", check_text("attribute name", key))
                if value is None:
                    current.pop(key, None)
                else:
                    current[key] = check_attribute_value(key, value)
            conn.execute(update(schema.contacts).where(c.id == contact_id).values(attributes=current, updated_at=utcnow()))
        return current

    def add_tags(self, contact_id: int, tags: Iterable[str]) -> None:
        tag_list = _clean_tags(tags)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            self._insert_tags(conn, contact_id, tag_list)
            self._touch(conn, contact_id)

    def remove_tags(self, contact_id: int, tags: Iterable[str]) -> None:
        tag_list = _clean_tags(tags)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            conn.execute(delete(schema.contact_tags).where(t.contact_id == contact_id, t.tag.in_(tag_list)))
            self._touch(conn, contact_id)

    def set_stage(self, contact_id: int, stage: str | None, reason: str) -> str | None:
        """Move the contact to `stage`; return the previous stage. A change is written to stage_history."""
        if stage is not None:
            check_text("stage", stage)
        check_text("reason", reason)
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            previous = conn.execute(select(c.stage).where(c.id == contact_id)).scalar_one()
            if previous != stage:
                now = utcnow()
                conn.execute(update(schema.contacts).where(c.id == contact_id).values(stage=stage, updated_at=now))
                conn.execute(schema.stage_history.insert().values(
                    contact_id=contact_id, from_stage=previous, to_stage=stage, reason=reason, at=now))
        return previous

    def stage_history(self, contact_id: int) -> list[StageChange]:
        h = schema.stage_history.c
        with self._read() as conn:
            rows = conn.execute(select(schema.stage_history).where(h.contact_id == contact_id).order_by(h.at, h.id))
            return [StageChange(r.id, r.from_stage, r.to_stage, r.reason, r.at) for r in rows]

    def contact_ids(self, *, include_erased: bool = False) -> list[int]:
        """Every contact id, ascending."""
        query = select(c.id).order_by(c.id)
        if not include_erased:
            query = query.where(c.erased_at.is_(None))
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def add_alias(self, contact_id: int, external_id: str, source: str) -> bool:
        """Keep `external_id` as another name of the contact; False if it already is one of its
        ids. StoreError if another contact holds it."""
        external_id = check_line("external_id", check_text("external_id", external_id)).strip()
        with self._write() as conn:
            self._require_contact(conn, contact_id)
            current = conn.execute(select(c.external_id).where(c.id == contact_id)).scalar_one()
            if current == external_id:
                return False
            self._refuse_alias_of_other(conn, external_id, contact_id)
            if conn.execute(select(al.contact_id).where(al.external_id == external_id)).first() is not None:
                return False
            insert_aliases(conn, [(contact_id, external_id)], source)
            return True

    def contact_aliases(self, contact_id: int) -> list[dict[str, Any]]:
        """The contact's earlier external ids: [{external_id, source, added_at}], oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(al.external_id, al.source, al.added_at)
                                .where(al.contact_id == contact_id).order_by(al.added_at, al.external_id))
            return [dict(r._mapping) for r in rows]

    def external_id_owners(self) -> dict[str, int]:
        """Every alias of a live contact -> its contact id (the import's identity index)."""
        with self._read() as conn:
            rows = conn.execute(select(al.external_id, al.contact_id).join(schema.contacts, c.id == al.contact_id)
                                .where(c.erased_at.is_(None)))
            return {ext: cid for ext, cid in rows}

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _refuse_alias_of_other(conn: Connection, external_id: str | None, contact_id: int | None) -> None:
        """StoreError if `external_id` is held (current or alias) by a contact other than `contact_id`."""
        if external_id is None:
            return
        owners = set(conn.execute(select(al.contact_id).where(al.external_id == external_id)).scalars())
        owners |= set(conn.execute(select(c.id).where(c.external_id == external_id)).scalars())
        owners.discard(contact_id)
        if owners and contact_id is None:
            raise StoreError(f"a contact with external id {external_id!r} already exists")
        if owners:
            raise StoreError(f"external id {external_id!r} is already used by another contact")

    def _replace_external_id(self, conn: Connection, contact_id: int, new: str | None, source: str) -> None:
        """Before the contact's external id becomes `new`: keep the old one as an alias."""
        self._refuse_alias_of_other(conn, new, contact_id)
        old = conn.execute(select(c.external_id).where(c.id == contact_id)).scalar_one()
        if new is not None:
            conn.execute(delete(schema.contact_aliases).where(al.contact_id == contact_id, al.external_id == new))
        if old is not None and old != new:
            insert_aliases(conn, [(contact_id, old)], source)

    def _insert_tags(self, conn: Connection, contact_id: int, tags: list[str]) -> None:
        if tags:
            now = utcnow()
            stmt = self._insert(conn, schema.contact_tags).on_conflict_do_nothing(index_elements=["contact_id", "tag"])
            conn.execute(stmt, [{"contact_id": contact_id, "tag": tag, "added_at": now} for tag in tags])

    @staticmethod
    def _touch(conn: Connection, contact_id: int) -> None:
        conn.execute(update(schema.contacts).where(c.id == contact_id).values(updated_at=utcnow()))

    @staticmethod
    def _tags(conn: Connection, contact_id: int) -> list[str]:
        return list(conn.execute(select(t.tag).where(t.contact_id == contact_id).order_by(t.tag)).scalars())

    def _load_contact(self, conn: Connection, query: Any) -> Contact | None:
        row = conn.execute(query).first()
        if row is None:
            return None
        return Contact(
            id=row.id, external_id=row.external_id, email=row.email, phone=row.phone,
            first_name=row.first_name, last_name=row.last_name, locale=row.locale, timezone=row.timezone,
            stage=row.stage, attributes=dict(row.attributes or {}), tags=self._tags(conn, row.id),
            created_at=row.created_at, updated_at=row.updated_at, erased_at=row.erased_at,
        )

    def _contact_or_raise(self, conn: Connection, contact_id: int) -> Contact:
        self._require_contact(conn, contact_id)
        found = self._load_contact(conn, schema.contacts.select().where(c.id == contact_id))
        if found is None:  # pragma: no cover - _require_contact checked it
            raise ContactNotFound(f"no contact with id {contact_id}")
        return found


def insert_aliases(conn: Connection, pairs: list[tuple[int, str]], source: str) -> None:
    """Record (contact id, external id) aliases; one already recorded is left as it is."""
    if pairs:
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        now = utcnow()
        conn.execute(insert(schema.contact_aliases).on_conflict_do_nothing(index_elements=["external_id"]),
                     [{"contact_id": cid, "external_id": ext, "source": source, "added_at": now} for cid, ext in pairs])
