"""Bounce and complaint reports that arrive as mail, read into `marketing.bounces.Feedback`:

- RFC 3464 delivery status notifications (multipart/report; report-type=delivery-status): each
  recipient's Action and Status; a failure is hard when its status says the address is gone
  (`is_hard`), soft otherwise (a full mailbox, a block, a message refused for its content);
  `delayed`, `delivered`, `relayed` and `expanded` are not bounces; a full mailbox is soft
  whatever its code (real DSNs say "5.0.0 (recipient reached disk quota)");
- the many older, non-standard bounce formats (qmail, Exchange, Yahoo, ...) through flufl.bounce
  (its permanent failures hard unless a status code in the text says otherwise; its temporary
  ones are delay warnings, not bounces: the MTA still retries);
- RFC 5965 ARF complaints (multipart/report; report-type=feedback-report): Feedback-Type
  `abuse` (or none) is a complaint; `not-spam`, `virus`, `fraud`, `other` are not.

Where a report points: any VERP address of ours in it (the envelope recipient the listener saw,
To, Delivered-To, the quoted original's Return-Path, ARF's Original-Mail-From) and any quoted
Message-ID of our shape. A report is keyed by its own Message-ID (else its bytes), hashed.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from email.message import Message
from typing import Any

from flufl.bounce import all_failures

from compiler.sending_model import BouncePolicy
from marketing.bounces import BOUNCE, COMPLAINT, IGNORED, Feedback, Outcome, Publisher, apply
from tracking.tokens import TokenSigner
from tracking.verp import PREFIX

_VERP = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]{20,80}@[A-Za-z0-9.-]+", re.IGNORECASE)
_OUR_MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@[^<>@\s]+>")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
COMPLAINT_TYPES = ("abuse", "")
# ARF fields kept as the proof of a complaint (not Original-Rcpt-To / Original-Mail-From: addresses)
ARF_PROOF = ("User-Agent", "Version", "Arrival-Date", "Received-Date", "Reporting-MTA", "Source-IP", "Reported-Domain")
# a "5.0.0" that says the mailbox is full is soft, whatever the code (seen in real DSNs)
_FULL = re.compile(r"quota|mailbox (is )?full|over ?quota|insufficient (disk )?space", re.IGNORECASE)


class NotAReport(ValueError):
    """The mail is neither a bounce nor a complaint report that we can read."""


def is_hard(status: str) -> bool:
    """A permanent failure that says the address cannot receive mail: 5.0.x (unspecified, what
    many MTAs answer for an unknown user), 5.1.x (bad mailbox or domain), 5.2.1 (disabled),
    5.4.x (no route to the domain). Not 5.2.2 (mailbox full), 5.3.x (system), 5.5.x (protocol),
    5.6.x (content), 5.7.x (policy: a block is about the sender, not the address); nor 4.x.x."""
    m = _STATUS.search(status or "")
    if not m or m[1] != "5":
        return False
    subject, detail = m[2], m[3]
    return subject in ("0", "1", "4") or (subject == "2" and detail == "1")


def _block_status(block: Message) -> str:
    """A recipient's Status, or the more specific code of its Diagnostic-Code when the Status is
    the catch-all X.0.0 (Exim says "Status: 5.0.0" for Gmail's "550 5.7.1 ... blocked")."""
    status = _status(block.get("Status", ""))
    detail = _status(block.get("Diagnostic-Code", ""))
    return detail if detail and (not status or status.endswith(".0.0")) and detail[0] == (status or detail)[0] else status


def _status(text: str) -> str:
    m = _STATUS.search(text or "")
    return f"{m[1]}.{m[2]}.{m[3]}" if m else ""


def _report_part(msg: Message, report_type: str, part_type: str) -> Message | None:
    if msg.get_content_type() != "multipart/report" or msg.get_param("report-type", "").lower() != report_type:
        return None
    for part in msg.walk():
        if part.get_content_type() == part_type:
            return part
    return None


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block.strip() + "\n") for block in re.split(r"\r?\n\s*\r?\n", text)
            if block.strip()]


def _address(value: str | None) -> str:
    """`rfc822; ana@example.com` -> ana@example.com."""
    value = (value or "").strip()
    return value.split(";", 1)[1].strip().strip("<>") if ";" in value else value.strip("<>")


def _key(msg: Message, raw: bytes) -> str:
    basis = (msg.get("Message-ID") or "").strip().encode() or raw
    return "mail:" + hashlib.sha256(basis).hexdigest()[:40]


def _pointers(raw_text: str, envelope_rcpts: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    verp = tuple(dict.fromkeys([*envelope_rcpts, *_VERP.findall(raw_text)]))
    message_ids = tuple(dict.fromkeys(_OUR_MESSAGE_ID.findall(raw_text)))
    return verp, message_ids


def parse_report(raw: bytes, envelope_rcpts: tuple[str, ...] = ()) -> Feedback:
    """The Feedback a mail reports; NotAReport (one line) when it is neither a bounce nor a complaint."""
    msg = email.message_from_bytes(raw)  # compat32: what flufl.bounce reads
    own_id = (msg.get("Message-ID") or "").strip()
    raw_text = raw.decode("latin-1")
    if own_id:
        raw_text = raw_text.replace(own_id, "")  # the report's own id is not the message it reports
    verp, message_ids = _pointers(raw_text, envelope_rcpts)
    key = _key(msg, raw)

    arf = _report_part(msg, "feedback-report", "message/feedback-report")
    if arf is not None:
        fields = _field_blocks(arf)
        first = fields[0] if fields else Message()
        feedback_type = (first.get("Feedback-Type") or "").strip().lower()
        if feedback_type not in COMPLAINT_TYPES:
            raise NotAReport(f"a feedback report of type {feedback_type!r}, not a complaint")
        recipients = tuple(_address(v) for v in first.get_all("Original-Rcpt-To", []) if _address(v))
        proof = tuple((name, " ".join(str(first[name]).split())) for name in ARF_PROOF if first.get(name))
        return Feedback(COMPLAINT, key, "arf", verp=verp, message_ids=message_ids, recipients=recipients,
                        feedback_type=feedback_type or "abuse", proof=proof)

    dsn = _report_part(msg, "delivery-status", "message/delivery-status")
    if dsn is not None:
        failed = [block for block in _field_blocks(dsn)[1:]
                  if (block.get("Action") or "").strip().lower() == "failed"]
        if failed:
            statuses = [_block_status(block) for block in failed]
            recipients = tuple(_address(b.get("Final-Recipient") or b.get("Original-Recipient")) for b in failed)
            hard = any(is_hard(s) and not _FULL.search(f"{b.get('Status', '')} {b.get('Diagnostic-Code', '')}")
                       for s, b in zip(statuses, failed))
            status = next((s for s in statuses if is_hard(s)), statuses[0]) if hard else statuses[0]
            return Feedback(BOUNCE, key, "dsn", hard=hard, status=status, verp=verp, message_ids=message_ids,
                            recipients=tuple(r for r in recipients if r))

    temporary, permanent = all_failures(msg)
    if not permanent:
        raise NotAReport("a delay warning (the mail is still being retried)" if temporary else
                         "no failed recipient found: not a bounce (an auto-reply, other mail)")
    body = _body_text(msg)
    text_status = _status(body)
    hard = (not text_status or is_hard(text_status)) and not _FULL.search(body)
    recipients = tuple(a.decode("utf-8", "replace") for a in sorted(permanent))
    return Feedback(BOUNCE, key, "bounce", hard=hard, status=text_status, verp=verp, message_ids=message_ids,
                    recipients=recipients)


def _body_text(msg: Message) -> str:
    """The report's own text parts (not a quoted original), for a status code."""
    texts = []
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            break
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode("utf-8", "replace"))
    return "\n".join(texts)


async def ingest(store: Any, signer: TokenSigner, raw: bytes, publish: Publisher, *,
                 envelope_rcpts: tuple[str, ...] = (), policy: BouncePolicy | None = None) -> Outcome:
    """One mail from the bounce mailbox (listener or `cli.py bounces ingest`): read and acted on.
    Not a report: outcome `ignored`, with why."""
    try:
        fb = parse_report(raw, envelope_rcpts)
    except NotAReport as exc:
        return Outcome(IGNORED, str(exc))
    return await apply(store, signer, fb, publish, policy)
