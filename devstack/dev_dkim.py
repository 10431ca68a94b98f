"""The dev stack's DKIM key: made once in the data folder, for the domain of the journeys' sender
(sending.yaml's `from`), so every message the sink keeps is signed like production mail and
verifies against the record written beside the key (`dkim-dev.txt`)."""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

from activities.dkim_signing import DkimSigner, generate_key, write_key

SELECTOR = "dev"
DEFAULT_DOMAIN = "nurture.local"


def sender_domain(journeys: Path) -> str:
    """The domain of the `from` in the journeys folder's sending.yaml, else nurture.local."""
    from compiler.sending_model import FILE_NAME, rules_if_present

    folder = journeys if journeys.is_dir() else journeys.parent
    rules, _broken = rules_if_present(folder / FILE_NAME)
    sender = (rules.sender if rules else None) or ""
    return parseaddr(sender)[1].rpartition("@")[2] or DEFAULT_DOMAIN


def dev_signer(data_dir: Path, journeys: Path) -> DkimSigner:
    """Load (or make) `data_dir/dkim-dev.pem` and write its TXT record to `dkim-dev.txt`."""
    key = data_dir / "dkim-dev.pem"
    if not key.exists():
        write_key(key, generate_key("rsa"))
    signer = DkimSigner.load(key.read_bytes(), sender_domain(journeys), SELECTOR)
    (data_dir / "dkim-dev.txt").write_text(signer.dns_line + "\n", encoding="utf-8")
    return signer
