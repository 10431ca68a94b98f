"""DKIM: keys, signing in the message build, verification with dkimpy against the record
`cli.py dkim keygen` prints, a journey run's message read back from the real SMTP sink, and the
errors a bad key or an unreachable DNS give."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import dkim
import pytest

from activities import dkim_signing as ds
from activities.dkim_signing import DkimConfigError, DkimSigner, generate_key
from activities.email_build import build_email, wire_bytes
from activities.render import RenderedEmail
from cli import main
from compiler import ir
from tests.journey_builder import journey
from tracking.tokens import TokenSigner

ROOT = Path(__file__).resolve().parent.parent
SENDER = "Northwind <hello@northwind.example>"


def dns_for(record: str, name: str = "s1._domainkey.northwind.example."):
    """A dnsfunc for dkim.verify that publishes `record` at `name` only."""

    def dnsfunc(qname: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if qname.decode() == name else None

    return dnsfunc


def built(signer: DkimSigner | None, subject: str = "Hello, Ana — welcome", **extra: object):
    rendered = RenderedEmail(subject, '<html><body><p>Hi <a href="https://example.com/x">x</a></p>\n'
                                      ".a line starting with a dot</body></html>", "Hi https://example.com/x\n.dot\n")
    return build_email(rendered, to="Ana <ana@example.com>", sender=SENDER, message_key="run/step/1",
                       base_url="http://127.0.0.1:8000", signer=TokenSigner([b"k" * 32]), contact_id=7,
                       domain="northwind.example", dkim=signer, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def signer(request: pytest.FixtureRequest) -> DkimSigner:
    return DkimSigner.load(generate_key(request.param), "northwind.example", "s1")


def test_a_built_message_verifies_and_signs_the_headers_that_matter(signer: DkimSigner) -> None:
    raw = wire_bytes(built(signer).message)
    assert raw.startswith(b"DKIM-Signature: v=1; a=" + signer.algorithm.encode())
    assert dkim.verify(raw, dnsfunc=dns_for(signer.record))
    tags = ds.parse_record(raw.split(b"\r\n\r\n")[0].decode().split("DKIM-Signature:")[1].split("\r\nFrom:")[0])
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "northwind.example" and tags["s"] == "s1"
    signed = tags["h"].split(":")
    for name in ("from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post",
                 "mime-version", "content-type"):
        assert name in signed
    assert signed.count("list-unsubscribe") == 2  # oversigned: a second one added on the way breaks it
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n") if line.startswith((b"DKIM", b" ")))


def test_a_changed_unsubscribe_header_or_an_added_from_breaks_the_signature(signer: DkimSigner) -> None:
    raw = wire_bytes(built(signer).message)
    changed = re.sub(rb"List-Unsubscribe: <[^>]+>", b"List-Unsubscribe: <https://evil.example/u>", raw)
    assert changed != raw and not dkim.verify(changed, dnsfunc=dns_for(signer.record))
    added = raw.replace(b"\r\nTo:", b"\r\nFrom: ceo@northwind.example\r\nTo:", 1)
    assert not dkim.verify(added, dnsfunc=dns_for(signer.record))
    other = DkimSigner.load(generate_key(signer.kind), "northwind.example", "s1")
    assert not dkim.verify(raw, dnsfunc=dns_for(other.record))


def test_unsigned_without_a_signer() -> None:
    assert b"DKIM-Signature" not in wire_bytes(built(None).message)


def test_openssl_rsa_signature_is_dkimpys_own() -> None:
    """The OpenSSL shortcut computes exactly what dkimpy's pure-Python RSA would."""
    from dkim.crypto import parse_pem_private_key

    rsa_signer = DkimSigner.load(generate_key("rsa"), "northwind.example", "s1")
    digest = hashlib.sha256(b"canonicalised headers")
    key = parse_pem_private_key(rsa_signer._private)
    assert ds._rsa_sign(digest.copy(), key) == ds._pure_rsa_sign(digest.copy(), key)


def test_bad_keys_and_names_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DkimConfigError, match="not a usable unencrypted PEM private key"):
        DkimSigner.load(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "a.example", "s1")
    with pytest.raises(DkimConfigError, match="is not a DNS name"):
        DkimSigner.load(generate_key("ed25519"), "a.example", "bad selector")
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    monkeypatch.setenv("NURTURE_DKIM_KEY_FILE", str(key))
    monkeypatch.delenv("NURTURE_DKIM_DOMAIN", raising=False)
    monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "s1")
    with pytest.raises(DkimConfigError, match="NURTURE_DKIM_DOMAIN is not"):
        ds.signer_from_env()
    monkeypatch.setenv("NURTURE_DKIM_DOMAIN", "a.example")
    with pytest.raises(DkimConfigError) as err:
        ds.signer_from_env()
    assert str(err.value).startswith(f"NURTURE_DKIM_KEY_FILE={str(key)!r}: not a usable") and "\n" not in str(err.value)


def test_the_worker_refuses_to_start_with_a_bad_key(tmp_path: Path) -> None:
    key = tmp_path / "broken.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nnonsense\n-----END RSA PRIVATE KEY-----\n")
    env = dict(os.environ, NURTURE_DKIM_KEY_FILE=str(key), NURTURE_DKIM_DOMAIN="northwind.example",
               NURTURE_DKIM_SELECTOR="s1", NURTURE_DB_URL=f"sqlite:///{tmp_path / 'n.db'}",
               TEMPORAL_ADDRESS="127.0.0.1:1")
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert done.stderr.startswith("worker: NURTURE_DKIM_KEY_FILE=") and "not a usable" in done.stderr


def test_alignment_warnings_name_senders_outside_the_signing_domain() -> None:
    signer = DkimSigner.load(generate_key("ed25519"), "northwind.example", "s1")
    assert ds.alignment_warnings(signer, [SENDER, "news@mail.northwind.example", ""]) == []
    [warning] = ds.alignment_warnings(signer, [SENDER, "Nurture <hello@nurture.local>"])
    assert "d=northwind.example" in warning and "nurture.local" in warning


def test_record_comparison() -> None:
    signer = DkimSigner.load(generate_key("rsa"), "northwind.example", "s1")
    p = signer.public_key
    split = f"v=DKIM1; k=rsa; p={p[:200]} {p[200:]}"  # as joined from two quoted DNS strings with a space
    assert ds.record_problem([split], signer.record) is None
    assert ds.record_problem(["v=spf1 -all", f"p={p}; k=rsa"], signer.record) is None  # other TXT, any order
    assert ds.record_problem([], signer.record) == "no TXT record is published there"
    assert "not the signing key" in ds.record_problem(["v=DKIM1; k=rsa; p=MIIBAAAA"], signer.record)
    assert "revoked" in ds.record_problem(["v=DKIM1; p="], signer.record)
    assert "k=ed25519" in ds.record_problem([f"v=DKIM1; k=ed25519; p={p}"], signer.record)
    assert "exactly one" in ds.record_problem([signer.record, signer.record], signer.record)
    assert "not a DKIM key" in ds.record_problem(["v=spf1 -all"], signer.record)


def test_dns_line_splits_long_records_into_255_character_strings() -> None:
    signer = DkimSigner.load(generate_key("rsa"), "northwind.example", "s1")
    strings = re.findall(r'"([^"]*)"', signer.dns_line)
    assert len(strings) == 2 and all(len(s) <= 255 for s in strings) and "".join(strings) == signer.record
    assert signer.dns_line.startswith("s1._domainkey.northwind.example TXT ")


def printed_record(out: str) -> str:
    """The TXT record text from keygen's output, its quoted strings joined as DNS does."""
    line = next(line for line in out.splitlines() if "._domainkey." in line and " TXT " in line)
    return "".join(re.findall(r'"([^"]*)"', line))


def test_keygen_writes_a_0600_key_prints_the_record_and_never_overwrites(tmp_path: Path, capsys) -> None:
    out = tmp_path / "k.pem"
    assert main(["dkim", "keygen", "--domain", "northwind.example", "--selector", "s1", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    record = printed_record(capsys.readouterr().out)
    assert record == DkimSigner.load(out.read_bytes(), "northwind.example", "s1").record
    before = out.read_bytes()
    assert main(["dkim", "keygen", "--domain", "northwind.example", "--selector", "s1", "--out", str(out)]) == 1
    assert "exists; not overwriting" in capsys.readouterr().err and out.read_bytes() == before
    assert main(["dkim", "keygen", "--domain", "north wind", "--selector", "s1", "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.strip() == "error: DKIM domain 'north wind' is not a DNS name"


def test_check_says_dns_is_unreachable(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NURTURE_DKIM_KEY_FILE", "NURTURE_DKIM_DOMAIN", "NURTURE_DKIM_SELECTOR"):
        monkeypatch.delenv(name, raising=False)  # check sets them in this process from its options
    key = tmp_path / "k.pem"
    ds.write_key(key, generate_key("ed25519"))
    code = main(["dkim", "check", "--key-file", str(key), "--domain", "northwind.example", "--selector", "s1",
                 "--nameserver", "127.0.0.1:9", "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("DNS unreachable: no DNS server answered for s1._domainkey.northwind.example")
    assert len(err.strip().splitlines()) == 1


async def test_a_journey_message_from_the_sink_verifies_against_the_printed_record(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.simulation import Simulation

    key = tmp_path / "dkim.pem"
    assert main(["dkim", "keygen", "--domain", "northwind.example", "--selector", "s1", "--out", str(key)]) == 0
    record = printed_record(capsys.readouterr().out)
    monkeypatch.setenv("NURTURE_DKIM_KEY_FILE", str(key))
    monkeypatch.setenv("NURTURE_DKIM_DOMAIN", "northwind.example")
    monkeypatch.setenv("NURTURE_DKIM_SELECTOR", "s1")
    j = journey(ir.SendEmail(id="welcome", template="welcome"), emails=["welcome"])
    j = replace(j, sender=SENDER)
    contact = {"email": "ana@example.com", "first_name": "Ana", "consent": {"email": ["marketing"]}}
    async with Simulation() as sim:
        sim.deps.dkim = ds.signer_from_env()  # what Deps.from_env does in a worker
        out = await sim.run(replace(j, version=j.content_hash()), contact)
        [delivery] = sim.smtp.deliveries
    assert out.result.outcome == "completed"
    assert delivery.message["From"] == SENDER
    assert delivery.raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(delivery.raw, dnsfunc=dns_for(record))


def test_the_dev_stack_key_is_made_once_for_the_senders_domain(tmp_path: Path) -> None:
    from devstack.dev_dkim import dev_signer

    first = dev_signer(tmp_path, ROOT / "journeys")
    assert first.domain == "northwind.example" and first.selector == "dev"  # sending.yaml's from
    assert stat.S_IMODE((tmp_path / "dkim-dev.pem").stat().st_mode) == 0o600
    again = dev_signer(tmp_path, ROOT / "journeys")
    assert again.record == first.record  # the key is kept: a published record stays right
    record = "".join(re.findall(r'"([^"]*)"', (tmp_path / "dkim-dev.txt").read_text()))
    raw = wire_bytes(built(again).message)
    assert dkim.verify(raw, dnsfunc=dns_for(record, "dev._domainkey.northwind.example."))


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dkim"


def test_the_rfc_6376_example_message_signs_and_verifies_against_its_published_record() -> None:
    """A message not built here (RFC 6376 Appendix A), signed with dkimpy's test key through our
    signer, verifies against that key's record as dkimpy's tests publish it (with a g= tag)."""
    raw = (FIXTURES / "rfc6376.msg").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signer = DkimSigner.load((FIXTURES / "test.private").read_bytes(), "example.com", "test")
    published = (FIXTURES / "test.txt").read_text().strip()
    assert ds.record_problem([published], signer.record) is None
    value = signer.header_value(raw)
    assert "h=from : to : subject : date : message-id : from : subject;" in value.replace("\t", " ")
    signed = b"DKIM-Signature: " + value.encode() + b"\r\n" + raw
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: published.encode())


def test_our_ed25519_record_is_rfc_8463s() -> None:
    """The p= we publish for the RFC 8463 Appendix A key is the record the RFC gives."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    seed = base64.b64decode((FIXTURES / "ed25519test.key").read_text().strip())
    pem = ed25519.Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = DkimSigner.load(pem, "football.example.com", "brisbane")
    assert ds.record_problem([(FIXTURES / "ed25519test.dns").read_text().strip()], signer.record) is None
    assert signer.record == "v=DKIM1; k=ed25519; p=" + ds.parse_record((FIXTURES / "ed25519test.dns").read_text())["p"]


def test_worker_start_warns_about_senders_the_key_does_not_align_with(monkeypatch: pytest.MonkeyPatch) -> None:
    from activities.deps import Deps
    from worker import dkim_warnings

    monkeypatch.chdir(ROOT)  # journeys/sending.yaml: from Northwind <hello@northwind.example>
    monkeypatch.delenv("NURTURE_SENDING_FILE", raising=False)
    aligned = DkimSigner.load(generate_key("ed25519"), "northwind.example", "s1")
    assert dkim_warnings(Deps(store=None, signer=None, sender=SENDER, dkim=aligned)) == []
    other = DkimSigner.load(generate_key("ed25519"), "mail.example", "s1")
    warnings = dkim_warnings(Deps(store=None, signer=None, sender=SENDER, dkim=other))
    assert len(warnings) == 1 and "d=mail.example" in warnings[0] and "northwind.example" in warnings[0]
    assert dkim_warnings(Deps(store=None, signer=None)) == []  # unsigned: nothing to say


def test_check_names_journeys_whose_sender_the_key_does_not_align_with(tmp_path: Path, capsys,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NURTURE_DKIM_KEY_FILE", "NURTURE_DKIM_DOMAIN", "NURTURE_DKIM_SELECTOR"):
        monkeypatch.delenv(name, raising=False)
    key = tmp_path / "k.pem"
    ds.write_key(key, generate_key("ed25519"))
    common = ["dkim", "check", "--key-file", str(key), "--selector", "s1", "--nameserver", "127.0.0.1:9",
              "--timeout", "0.3", "--journeys", str(ROOT / "journeys")]
    assert main(common + ["--domain", "mail.example"]) == 1
    err = capsys.readouterr().err
    assert ("warning: journey welcome-series: DKIM signs as d=mail.example but the sender "
            "'Northwind <hello@northwind.example>' is at northwind.example") in err
    assert main(common + ["--domain", "northwind.example"]) == 1  # DNS unreachable, but aligned
    assert "warning" not in capsys.readouterr().err
