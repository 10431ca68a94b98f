"""DKIM: keys, the DNS record to publish, and signing a built message (dkimpy).

rsa-sha256 (2048-bit) by default, ed25519-sha256 as an option (RFC 8463), always
relaxed/relaxed canonicalisation. The key file is PEM either way (PKCS#1 for RSA, PKCS#8 for
Ed25519); the algorithm follows from it. The worker reads it from `NURTURE_DKIM_KEY_FILE`, the
signing domain and selector from `NURTURE_DKIM_DOMAIN` and `NURTURE_DKIM_SELECTOR`; a key that
cannot sign fails at start (`DkimConfigError`), never later as an unsigned send.

Public API:
    generate_key(kind) -> bytes                     a new private key, PEM
    DkimSigner.load(pem, domain, selector)          checked by signing a probe message
    DkimSigner.sign(message) -> None                adds the DKIM-Signature header, first
    DkimSigner.record / .dns_line                   `v=DKIM1; k=rsa; p=...` and the zone-file line
    signer_from_env() -> DkimSigner | None
    aligned(from_domain, signing_domain) -> bool    DMARC relaxed alignment
    record_problem(published, expected) -> str|None why a published TXT record does not match
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from activities.configuration import ConfigurationError

KINDS = {"rsa": "rsa-sha256", "ed25519": "ed25519-sha256"}
RSA_BITS = 2048
CANONICALIZE = (b"relaxed", b"relaxed")
# What a receiver must see unchanged (RFC 6376 5.4.1, RFC 8058 for the one-click unsubscribe);
# each is signed once per instance present, and those in OVERSIGN once more, so that a second
# From, Subject or List-Unsubscribe added on the way breaks the signature.
SIGNED_HEADERS = ("from", "to", "subject", "date", "message-id", "reply-to", "list-unsubscribe",
                  "list-unsubscribe-post", "mime-version", "content-type", "content-transfer-encoding")
OVERSIGN = ("from", "subject", "list-unsubscribe", "list-unsubscribe-post")
_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


# dkimpy computes RSA signatures in pure Python (~15-30 ms per message on this kind of machine);
# for the keys loaded here OpenSSL does the same deterministic PKCS#1 v1.5 operation (~1 ms).
# dkimpy looks the function up in its module at each call; other keys keep its own code.
_OPENSSL_KEYS: dict[int, rsa.RSAPrivateKey] = {}  # modulus -> key
_pure_rsa_sign = dkim.RSASSA_PKCS1_v1_5_sign


def _rsa_sign(digest: object, private_key: dict[str, int]) -> bytes:
    key = _OPENSSL_KEYS.get(private_key["modulus"])
    if key is None or getattr(digest, "name", "sha256") != "sha256":
        return _pure_rsa_sign(digest, private_key)
    return key.sign(digest.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))  # type: ignore[attr-defined]


dkim.RSASSA_PKCS1_v1_5_sign = _rsa_sign


class DkimConfigError(ConfigurationError):
    """A DKIM key, domain or selector that cannot sign (one line: which and why)."""


def _check_name(what: str, value: str) -> str:
    labels = value.strip().rstrip(".").split(".")
    if not value.strip() or not all(_NAME.match(label) for label in labels):
        raise DkimConfigError(f"{what} {value!r} is not a DNS name")
    return ".".join(labels).lower()


def generate_key(kind: str = "rsa") -> bytes:
    """A new private key as PEM: RSA 2048 (PKCS#1, what dkimpy reads) or Ed25519 (PKCS#8)."""
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()  # type: ignore[assignment]
        fmt = serialization.PrivateFormat.PKCS8
    else:
        raise DkimConfigError(f"unknown key kind {kind!r} (rsa or ed25519)")
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def write_key(path: Path, pem: bytes) -> None:
    """Create `path` with mode 0600 from the start (never readable by others, not even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _load_private(pem: bytes) -> tuple[str, bytes, str]:
    """(kind, the key as dkimpy takes it, base64 public key for the p= tag)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimConfigError(f"not a usable unencrypted PEM private key ({str(exc).splitlines()[0]})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise DkimConfigError(f"an RSA key of {key.key_size} bits is too short (receivers ignore it; use 2048)")
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        _OPENSSL_KEYS[key.private_numbers().public_numbers.n] = key
        return "rsa", private, base64.b64encode(public).decode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519", base64.b64encode(seed), base64.b64encode(public).decode()
    raise DkimConfigError(f"a {type(key).__name__} cannot sign DKIM (rsa or ed25519)")


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    kind: str  # rsa | ed25519
    _private: bytes = field(repr=False)
    public_key: str  # base64, the p= tag

    @classmethod
    def load(cls, pem: bytes, domain: str, selector: str) -> "DkimSigner":
        """A signer, proven by signing a probe message (a bad key fails here, not at a send)."""
        kind, private, public = _load_private(pem)
        signer = cls(_check_name("DKIM domain", domain), _check_name("DKIM selector", selector), kind, private, public)
        probe = EmailMessage()
        probe["From"] = f"probe@{signer.domain}"
        probe.set_content("probe")
        signer.header_value(probe.as_bytes())
        return signer

    @property
    def algorithm(self) -> str:
        return KINDS[self.kind]

    @property
    def record(self) -> str:
        """The TXT record's text."""
        return f"v=DKIM1; k={self.kind}; p={self.public_key}"

    @property
    def record_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def dns_line(self) -> str:
        """`S._domainkey.D TXT "..."`, split into strings of at most 255 characters as DNS requires."""
        text = self.record
        chunks = " ".join(f'"{text[i:i + 255]}"' for i in range(0, len(text), 255))
        return f"{self.record_name} TXT {chunks}"

    def header_value(self, raw: bytes) -> str:
        """The DKIM-Signature value for `raw` (CRLF message bytes, exactly as they will be sent)."""
        present = {name.decode().lower() for name in _header_names(raw)}
        include = [h for h in SIGNED_HEADERS if h in present] + [h for h in OVERSIGN if h in present]
        try:
            signed = dkim.sign(raw, self.selector.encode(), self.domain.encode(), self._private,
                               canonicalize=CANONICALIZE, signature_algorithm=self.algorithm.encode(),
                               include_headers=[h.encode() for h in include], linesep=b"\r\n")
        except dkim.DKIMException as exc:
            raise DkimConfigError(f"DKIM signing failed: {exc}") from None
        name, _, value = signed.decode("ascii").partition(":")
        # unfolded (CRLF dropped, the whitespace after it kept): the same under relaxed canonicalisation
        return value.replace("\r\n", "").strip()

    def sign(self, message: EmailMessage, raw: bytes) -> None:
        """Add the signature of `raw` (the flattened `message`) as `message`'s first header."""
        value = self.header_value(raw)
        # first, where signers put it (RFC 6376 5.6); the public API only appends, and taking every
        # header out and back costs more than the signature itself
        message._headers.insert(0, message.policy.header_store_parse("DKIM-Signature", value))  # type: ignore[attr-defined]


def _header_names(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].strip() for line in head.split(b"\r\n") if line and line[:1] not in b" \t"]


def signer_from_env() -> DkimSigner | None:
    """The worker's signer from NURTURE_DKIM_KEY_FILE/_DOMAIN/_SELECTOR; None when no key file is set."""
    path = os.environ.get("NURTURE_DKIM_KEY_FILE", "").strip()
    if not path:
        return None
    missing = [n for n in ("NURTURE_DKIM_DOMAIN", "NURTURE_DKIM_SELECTOR") if not os.environ.get(n, "").strip()]
    if missing:
        raise DkimConfigError(f"NURTURE_DKIM_KEY_FILE is set but {' and '.join(missing)} is not")
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise DkimConfigError(f"NURTURE_DKIM_KEY_FILE={path!r}: {exc.strerror}") from None
    try:
        return DkimSigner.load(pem, os.environ["NURTURE_DKIM_DOMAIN"], os.environ["NURTURE_DKIM_SELECTOR"])
    except DkimConfigError as exc:
        raise DkimConfigError(f"NURTURE_DKIM_KEY_FILE={path!r}: {exc}") from None


def aligned(from_domain: str, signing_domain: str) -> bool:
    """DMARC relaxed alignment, approximated: the same domain, or one a subdomain of the other."""
    a, b = from_domain.lower().rstrip("."), signing_domain.lower().rstrip(".")
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def parse_record(text: str) -> dict[str, str]:
    """The tags of a DKIM TXT record (`v=DKIM1; k=rsa; p=...`), whitespace removed from values."""
    tags: dict[str, str] = {}
    for item in text.split(";"):
        name, eq, value = item.partition("=")
        if eq:
            tags[name.strip().lower()] = re.sub(r"\s+", "", value)
    return tags


def record_problem(published: list[str], expected: str) -> str | None:
    """Why the TXT strings found at the record's name are not the key we sign with, or None."""
    if not published:
        return "no TXT record is published there"
    records = [parse_record(text) for text in published]
    dkim_records = [r for r in records if r.get("v", "DKIM1") == "DKIM1" and "p" in r]
    if not dkim_records:
        return "the TXT record there is not a DKIM key (no p= tag)"
    if len(dkim_records) > 1:
        return f"{len(dkim_records)} DKIM records are published there; receivers need exactly one"
    found, want = dkim_records[0], parse_record(expected)
    if not found["p"]:
        return "the published key is revoked (empty p=)"
    if found.get("k", "rsa") != want["k"]:
        return f"the published key is k={found.get('k', 'rsa')}, the signing key is k={want['k']}"
    if found["p"] != want["p"]:
        return "the published public key (p=) is not the signing key's"
    return None


def alignment_warnings(signer: DkimSigner, senders: list[str]) -> list[str]:
    """One line per sender whose From domain the signing domain does not align with (DMARC fails)."""
    from email.utils import parseaddr

    out = []
    for sender in dict.fromkeys(s for s in senders if s):
        domain = parseaddr(sender)[1].rpartition("@")[2]
        if domain and not aligned(domain, signer.domain):
            out.append(f"DKIM signs as d={signer.domain} but the sender {sender!r} is at {domain}: "
                       f"receivers will not count the signature for DMARC (use a key for {domain})")
    return out


class DnsUnreachable(Exception):
    """No DNS answer at all (no resolver configured, or none answered in time)."""


def lookup_txt(name: str, *, nameserver: str | None = None, timeout: float = 5.0) -> list[str]:
    """The TXT strings at `name` (each record's strings joined), [] when the name has none."""
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(configure=nameserver is None)
    except dns.resolver.NoResolverConfiguration:
        raise DnsUnreachable("no DNS resolver is configured on this machine") from None
    if nameserver:
        host, _, port = nameserver.partition(":")
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    resolver.lifetime = timeout
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
        raise DnsUnreachable(f"no DNS server answered for {name} ({type(exc).__name__})") from None
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
