"""Deployments in the store (issue 19): recorded with the journey versions in one transaction,
refused when the live deployment moved, and the deploy lock (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from store import Store
from store.deployments import DeployLocked, NewDeployment, StaleDeployment, content_hash

IR = {"id": "welcome", "steps": []}


def new(commit: str | None = "a" * 40, **kw) -> NewDeployment:  # type: ignore[no-untyped-def]
    base = dict(commit=commit, dirty=False, branch="main", actor="ana", changes=["+ welcome v1"],
                journeys={"welcome": ("v1", "new")}, files={"scoring.yaml": "rules: []\n"})
    base.update(kw)
    return NewDeployment(**base)


def test_a_deployment_records_provenance_journeys_and_files(store: Store) -> None:
    assert store.live_deployment() is None and store.live_memo() is None
    first = store.record_deployment(new(), base_id=0)
    live = store.live_deployment()
    assert live is not None and live.id == first
    assert (live.commit, live.branch, live.actor, live.changes) == ("a" * 40, "main", "ana", ["+ welcome v1"])
    assert live.journeys == {"welcome": "v1"}
    assert live.files == {"scoring.yaml": content_hash("rules: []\n")}
    assert store.file_content(live.files["scoring.yaml"]) == "rules: []\n"
    assert store.live_memo() == {"Deployment": first, "Commit": "a" * 12}
    second = store.record_deployment(new(None, journeys={"other": ("v2", "new")}), base_id=first)
    assert [d.id for d in store.list_deployments()] == [second, first]
    assert [d.id for d in store.list_deployments("welcome")] == [first]
    assert store.live_memo() == {"Deployment": second, "Commit": "no commit"}


def test_a_stale_base_writes_nothing_not_even_the_versions(store: Store) -> None:
    first = store.record_deployment(new(), base_id=0)
    with pytest.raises(StaleDeployment, match="moved"):
        with store.transaction():
            store.save_journey_version("welcome", "v2", IR)
            store.record_deployment(new(), base_id=0)  # planned before `first` landed
    assert store.get_journey_version("welcome", "v2") is None
    assert [d.id for d in store.list_deployments()] == [first]


def test_the_deploy_lock_lets_one_apply_in_and_names_the_holder(db_url: str) -> None:
    a, b = Store.open(db_url), Store.open(db_url)
    try:
        with a.deploy_lock("ana (apply abc)"):
            with pytest.raises(DeployLocked, match=r"held by ana \(apply abc\) since \d{4}-\d\d-\d\d .* waited 0.3 s"):
                with b.deploy_lock("bob", timeout=0.3):
                    pass
        with b.deploy_lock("bob", timeout=0.3):  # released: the next one gets in
            assert b.deploy_lock_holder()[0] == "bob"  # type: ignore[index]
        assert a.deploy_lock_holder() is None
    finally:
        a.close()
        b.close()


def test_a_waiting_apply_gets_the_lock_when_it_is_released(db_url: str) -> None:
    a, b = Store.open(db_url), Store.open(db_url)
    got = threading.Event()
    try:
        with a.deploy_lock("ana"):
            def wait() -> None:
                with b.deploy_lock("bob", timeout=10):
                    got.set()

            waiter = threading.Thread(target=wait)
            waiter.start()
            waiter.join(0.5)
            assert not got.is_set()  # still waiting while ana holds it
        waiter.join(10)
        assert got.is_set()
    finally:
        a.close()
        b.close()


def test_score_log_and_consent_decisions_name_the_live_deployment(store: Store) -> None:
    from sqlalchemy import text

    cid = store.create_contact(email="named@example.com")
    store.add_score(cid, 5, reason="before any deployment")
    first = store.record_deployment(new(), base_id=0)
    store.add_score(cid, 3, reason="under the first deployment")
    store.record_consent_decision(cid, channel="email", purpose="marketing", granted=False, basis="no consent")
    with store._read() as conn:  # noqa: SLF001 - the column is for audits, not in the store's API
        scores = conn.execute(text("SELECT deployment_id FROM score_history ORDER BY id")).scalars().all()
        decisions = conn.execute(text("SELECT deployment_id FROM consent_decisions")).scalars().all()
    assert scores[0] is None and scores[-1] == first
    assert decisions == [first]
