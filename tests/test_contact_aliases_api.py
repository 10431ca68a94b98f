"""Issue 13.3 from outside: an external id a merge kept as an alias still names the contact in
`POST /v1/events` (real app, store on SQLite and PostgreSQL, time-skipping Temporal)."""

from __future__ import annotations

import pytest

from marketing.contact_import import ImportOptions, import_csv
from tests.tracking_helpers import API_TOKEN, http, make_app, temporal_client

pytestmark = pytest.mark.asyncio
_ = temporal_client
AUTH = {"authorization": f"Bearer {API_TOKEN}"}


async def test_an_external_id_kept_by_an_import_merge_still_receives_events(store, temporal_client, tmp_path):
    first, second = tmp_path / "crm.csv", tmp_path / "crm-later.csv"
    first.write_text("external_id,email,first_name\ncrm-101,maria@example.com,María\n", encoding="utf-8")
    second.write_text("external_id,email,first_name\ncrm-103,maria@example.com,Maria\n", encoding="utf-8")
    import_csv(store, first, ImportOptions(source="crm"))
    import_csv(store, second, ImportOptions(source="crm"))
    cid = store.find_contact(email="maria@example.com").id
    async with http(make_app(store, temporal_client)) as c:
        for ref in ("crm-101", "crm-103"):
            r = await c.post("/v1/events", headers=AUTH, json={"contact": {"external_id": ref}, "type": "trial.started"})
            assert r.status_code == 202, (ref, r.text)
        r = await c.post("/v1/events", headers=AUTH, json={"contact": {"external_id": "crm-999"}, "type": "trial.started"})
        assert r.status_code == 404
    assert len(store.events_for(cid, type="trial.started")) == 2
