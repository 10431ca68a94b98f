"""Send ledger (exactly-once, race-safe claims), send counts, messages and their links."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from store import Store, StoreError
from store.records import ContactNotFound

KEY = "journey/welcome/7/run-1/welcome/1"


def _claim(store: Store, cid: int, key: str = KEY, channel: str = "email"):
    return store.ledger_claim(key, contact_id=cid, journey_id="welcome", step_id="welcome", channel=channel,
                              message_id=f"<{key}@nurture.test>")


def test_claim_once_then_existing(store: Store) -> None:
    cid = store.create_contact()
    first = _claim(store, cid)
    assert (first.created, first.status, first.contact_id, first.message_id) == (
        True, "claimed", cid, f"<{KEY}@nurture.test>")
    store.ledger_set_status(KEY, "transmitting")
    again = _claim(store, cid)
    assert (again.created, again.status) == (False, "transmitting")
    assert store.ledger_get(KEY).status == "transmitting"
    assert store.ledger_get("no/such/key") is None


def test_status_transitions_and_sent_at(store: Store) -> None:
    cid = store.create_contact()
    _claim(store, cid)
    store.ledger_set_status(KEY, "claimed", "451 try later")
    assert (store.ledger_get(KEY).status, store.ledger_get(KEY).detail, store.ledger_get(KEY).sent_at) == (
        "claimed", "451 try later", None)
    store.ledger_set_status(KEY, "uncertain", "connection lost after DATA")
    stamped = store.ledger_get(KEY).sent_at
    assert stamped is not None and stamped.tzinfo is timezone.utc
    store.ledger_set_status(KEY, "sent")
    entry = store.ledger_get(KEY)
    assert (entry.status, entry.detail, entry.sent_at) == ("sent", None, stamped)  # first stamp kept
    with pytest.raises(StoreError, match="status must be one of"):
        store.ledger_set_status(KEY, "delivered")
    with pytest.raises(StoreError, match="no ledger entry"):
        store.ledger_set_status("missing", "sent")


def test_claim_for_unknown_contact_is_refused(store: Store) -> None:
    with pytest.raises(ContactNotFound):
        _claim(store, 31337)


def test_concurrent_claims_have_exactly_one_winner(db_url: str) -> None:
    """Separate Store objects (own engines and connections), like two workers racing on one key."""
    stores = [Store.open(db_url) for _ in range(4)]
    try:
        cid = stores[0].create_contact()
        for round_ in range(5):
            key = f"race/{round_}"
            barrier = threading.Barrier(len(stores))
            results: list = []
            errors: list = []

            def claim(s: Store) -> None:
                try:
                    barrier.wait()
                    results.append(_claim(s, cid, key))
                except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
                    errors.append(exc)

            threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert errors == []
            assert sorted(r.created for r in results) == [False, False, False, True]
    finally:
        for s in stores:
            s.close()


def test_count_sends_and_send_times(store: Store) -> None:
    cid = store.create_contact()
    other = store.create_contact()
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    for i, status in enumerate(["sent", "sent", "uncertain", "failed", "skipped", "claimed"]):
        _claim(store, cid, f"k/{i}")
        store.ledger_set_status(f"k/{i}", status)
    _claim(store, cid, "sms/1", channel="sms")
    store.ledger_set_status("sms/1", "sent")
    _claim(store, other, "o/1")
    store.ledger_set_status("o/1", "sent")
    assert store.count_sends(cid, "email", start) == 2
    assert store.count_sends(cid, "sms", start) == 1
    assert store.count_sends(cid, "email", datetime.now(timezone.utc) + timedelta(seconds=5)) == 0
    times = store.send_times(cid, "email", since=start)
    assert len(times) == 3 and times == sorted(times) and all(t.tzinfo is timezone.utc for t in times)
    with pytest.raises(StoreError, match="since must be timezone-aware"):
        store.count_sends(cid, "email", datetime(2024, 1, 1))


def test_messages_and_links(store: Store) -> None:
    cid = store.create_contact()
    links = ["https://example.com/a", "https://example.com/pricing?x=1&y=2", "https://example.com/a"]
    store.save_message("<m1@n>", contact_id=cid, journey_id="welcome", step_id="hello", channel="email", links=links)
    store.save_message("<m1@n>", contact_id=cid, journey_id="welcome", step_id="hello", channel="email",
                       links=["https://changed.example"])  # a retry: first write wins
    store.save_message("<m2@n>", contact_id=cid, journey_id="welcome", step_id="sms", channel="sms", links=[])
    msg = store.get_message("<m1@n>")
    assert (msg.contact_id, msg.journey_id, msg.step_id, msg.channel, msg.links) == (
        cid, "welcome", "hello", "email", links)
    assert [store.message_link("<m1@n>", i) for i in range(4)] == links + [None]
    assert store.message_link("<m1@n>", -1) is None
    assert store.message_link("<nope@n>", 0) is None
    assert store.get_message("<nope@n>") is None
    assert [m.message_id for m in store.messages_for(cid)] == ["<m1@n>", "<m2@n>"]
    with pytest.raises(StoreError, match="links must be a list"):
        store.save_message("<m3@n>", contact_id=cid, journey_id="j", step_id="s", channel="email",
                           links="https://x")  # type: ignore[arg-type]


def test_a_transaction_groups_calls_all_or_nothing(store) -> None:
    cid = store.create_contact(email="tx@example.com")
    with store.transaction():
        store.ledger_claim("wf/run/a/1", contact_id=cid, journey_id="j", step_id="a", channel="email", message_id="<a@x>")
        store.save_message("<a@x>", contact_id=cid, journey_id="j", step_id="a", channel="email", links=["https://x.test/"])
        assert store.ledger_get("wf/run/a/1").status == "claimed"  # reads inside see the writes
    assert store.message_link("<a@x>", 0) == "https://x.test/"
    try:
        with store.transaction():
            store.ledger_claim("wf/run/b/1", contact_id=cid, journey_id="j", step_id="b", channel="email", message_id="<b@x>")
            raise RuntimeError("crash before the commit")
    except RuntimeError:
        pass
    assert store.ledger_get("wf/run/b/1") is None  # rolled back together


def test_a_set_step_applies_once_even_after_a_crash_mid_way(store) -> None:
    """activities.profile.update_profile: changes and ledger entry commit together."""
    from activities.contracts import StepRef, UpdateInput
    from activities.deps import Deps
    from activities.profile import update_profile

    cid = store.create_contact(email="set@example.com")
    ref = StepRef(journey_id="j", version="v", workflow_id="wf", run_id="r", step_id="promote", visit=1, contact_id=cid)
    inp = UpdateInput(ref=ref, score_add=20, tags_add=["sales-ready"], stage="sql")
    deps = Deps(store=store, signer=None)
    original = store.add_tags
    store.add_tags = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("crash after the score was added"))
    try:
        update_profile(deps, inp)
    except ConnectionError:
        pass
    finally:
        store.add_tags = original
    assert store.get_scores(cid).get("global", 0) == 0 and store.ledger_get(ref.key) is None  # nothing half-done
    update_profile(deps, inp)  # the retry
    update_profile(deps, inp)  # a duplicate retry
    assert store.get_scores(cid)["global"] == 20 and store.get_contact(cid).stage == "sql"
