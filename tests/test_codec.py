"""Payload codec with crypto-shredding: AES-GCM per contact, keys in the store (both databases),
histories of real runs on the time-skipping server, erasure shreds one contact only, codec server."""

from __future__ import annotations

import asyncio
import json

import pytest
from google.protobuf import json_format
from starlette.testclient import TestClient
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import WorkflowExecutionStatus
from temporalio.converter import WorkflowSerializationContext

from codec import CodecKeyError, ContactPayloadCodec, KeyRing, KeyShredded, contact_of_workflow, data_converter
from codec.history import iter_payloads
from codec.keys import kek_from_secret
from codec.server import create_app
from compiler import ir
from engine.erasure import TERMINATE_REASON, erase
from engine.simulation import Simulation
from tests.journey_builder import journey

SECRET = "test key-encryption secret 0123456789"
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'"a plain value"')


def ring(store, secret: str = SECRET) -> KeyRing:
    return KeyRing(store, kek_from_secret(secret))


def of(keys: KeyRing, workflow_id: str | None) -> ContactPayloadCodec:
    codec = ContactPayloadCodec(keys)
    return codec if workflow_id is None else codec.with_context(WorkflowSerializationContext("default", workflow_id))


def test_contact_of_workflow():
    assert contact_of_workflow("journey/welcome/42") == 42
    assert contact_of_workflow("journey/cart/7/cart-99") == 7
    assert contact_of_workflow("segment-sweep/vip") is None and contact_of_workflow(None) is None


@pytest.mark.asyncio
async def test_seal_open_and_shred_one_contact(store):
    a, b = store.create_contact(email="a@example.com"), store.create_contact(email="b@example.com")
    keys = ring(store)
    [sealed_a] = await of(keys, f"journey/welcome/{a}").encode([PLAIN])
    [sealed_b] = await of(keys, f"journey/welcome/{b}").encode([PLAIN])
    assert sealed_a.metadata["encryption-key-id"] == f"contact:{a}".encode()
    assert sealed_a.metadata["encoding"] == b"binary/encrypted" and b"plain value" not in sealed_a.data
    assert await of(keys, None).decode([sealed_a, sealed_b, PLAIN]) == [PLAIN, PLAIN, PLAIN]
    assert await of(ring(store), None).decode([sealed_a]) == [PLAIN]  # another process, same secret
    with pytest.raises(CodecKeyError):
        await of(ring(store, "another secret of 16+ chars"), None).decode([sealed_a])
    store.erase_contact(a)
    keys.forget(a)
    with pytest.raises(KeyShredded):
        await of(keys, None).decode([sealed_a])
    assert await of(keys, None).decode([sealed_b]) == [PLAIN]
    # after erasure, new payloads of that contact's runs go under the system key
    [late] = await of(keys, f"journey/welcome/{a}").encode([PLAIN])
    assert late.metadata["encryption-key-id"] == b"system"
    [sweep] = await of(keys, "segment-sweep/vip").encode([PLAIN])
    assert sweep.metadata["encryption-key-id"] == b"system" and await of(keys, None).decode([sweep]) == [PLAIN]


def test_a_short_secret_is_refused():
    with pytest.raises(CodecKeyError, match="at least 16"):
        kek_from_secret("short")


def _encrypted(history) -> list[Payload]:
    return [p for p in iter_payloads(history) if p.metadata.get("encoding") == b"binary/encrypted"]


@pytest.mark.asyncio
async def test_erasure_shreds_only_that_contacts_histories():
    slow = journey(
        ir.SendEmail(id="first", template="first", next="pause"),
        ir.Wait(id="pause", duration_s=5 * 86400, next="second"),
        ir.SendEmail(id="second", template="second"),
        emails=["first", "second"],
    )
    person = {"first_name": "Ana", "consent": {"email": ["marketing"]}}
    async with Simulation(converter=lambda store: data_converter(ring(store))) as sim:
        kept = await sim.run(slow, dict(person, email="kept@example.com"))
        assert [e.outcome for e in kept.timeline if e.step == "second"] == ["sent"]
        gone_id = sim.create_contact(dict(person, email="gone@example.com"))
        handle = await sim.start(slow, gone_id)
        for _ in range(500):  # until the first email went and the run waits
            if (await handle.query("state")).get("waiting"):
                break
            await asyncio.sleep(0.01)
        done = await erase(sim.env.client, sim.store, gone_id)
        assert done.stopped == [handle.id] and done.removed
        desc = await handle.describe()
        assert desc.status == WorkflowExecutionStatus.TERMINATED
        kept_id = sim.store.find_contact(email="kept@example.com").id
        kept_handle = sim.env.client.get_workflow_handle(f"journey/{slow.id}/{kept_id}")
        assert (await kept_handle.result())["outcome"] == "completed"  # the client still decodes it
        kept_history = (await kept_handle.fetch_history()).to_json()
        gone_history = (await handle.fetch_history()).to_json()
        keys = ring(sim.store)  # a fresh cache: what any process sees now
        for text, readable in ((kept_history, True), (gone_history, False)):
            from temporalio.api.history.v1 import History

            history = json_format.Parse(text, History())
            sealed = _encrypted(history)
            assert sealed, "the codec encrypted the run's payloads"
            unsealed = [p for p in iter_payloads(history) if p.metadata.get("encoding") not in (b"binary/encrypted", None, b"")]
            # in the clear: only the SDK's own local-activity marker details (seq, attempt, type, times)
            assert all({"seq", "activity_type", "attempt"} <= set(json.loads(p.data)) for p in unsealed)
            if readable:
                assert len(await of(keys, None).decode(sealed)) == len(sealed)
            else:
                contact_sealed = [p for p in sealed if p.metadata["encryption-key-id"] == f"contact:{gone_id}".encode()]
                assert contact_sealed
                for payload in contact_sealed:
                    with pytest.raises(KeyShredded):
                        await of(keys, None).decode([payload])
        assert TERMINATE_REASON in gone_history and "gone@example.com" not in gone_history


def test_codec_server_decodes_for_the_ui_and_marks_shredded_payloads(sqlite_store):
    store = sqlite_store
    a, b = store.create_contact(email="a@example.com"), store.create_contact(email="b@example.com")
    keys = ring(store)
    sealed_a, sealed_b = (asyncio.run(of(keys, f"journey/j/{c}").encode([PLAIN]))[0] for c in (a, b))
    store.erase_contact(a)
    client = TestClient(create_app(ring(store)))
    body = json_format.MessageToJson(Payloads(payloads=[sealed_a, sealed_b]))
    answer = client.post("/decode", content=body, headers={"Origin": "http://localhost:8233", "X-Namespace": "default"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:8233"
    decoded = json_format.Parse(answer.text, Payloads()).payloads
    assert decoded[0].data == b'"[erased]"' and decoded[1] == PLAIN
    encoded = client.post("/encode", content=json_format.MessageToJson(Payloads(payloads=[PLAIN])))
    assert json_format.Parse(encoded.text, Payloads()).payloads[0].metadata["encryption-key-id"] == b"system"
    preflight = client.options("/decode", headers={"Origin": "http://localhost:8233", "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type,x-namespace"})
    assert preflight.status_code == 200
    assert client.options("/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}).status_code == 400
    bad = client.post("/decode", content=b"not json")
    assert bad.status_code == 400 and "payloads" in json.loads(bad.text)["error"]
