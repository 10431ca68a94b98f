"""End to end on the dev stack (real Temporal dev server, SMTP sink, bounce mailbox, tracking
server, worker): a journey's message reaches the sink with a VERP envelope sender; a DSN for it,
delivered over SMTP to the bounce mailbox and quoting nothing of ours, suppresses the address;
the next step's send is skipped as suppressed (hard_bounce). An SES complaint, signed with a
test certificate the stack trusts, withdraws consent; a forged one changes nothing."""

from __future__ import annotations

import asyncio
import json
import smtplib

import httpx
import pytest

from engine.events import publish
from tests.bounce_samples import filled
from tests.esp_samples import SnsSigner, sample
from tests.deploy_helpers import JOURNEY_ID, eventually, stack_config, started_stack, write_journey
from tests.test_deploy_flow import at_step, start
from tracking.tokens import signer_from_env
from tracking.verp import parse_verp

pytestmark = pytest.mark.asyncio


SNS = SnsSigner()


@pytest.fixture(scope="module")
async def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bounces")
    write_journey(tmp / "journeys")
    certs = tmp / "sns.pem"
    certs.write_bytes(SNS.pem())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NURTURE_SES_SNS_CERTS", str(certs))  # read by the stack's tracking app at start
        s = await started_stack(stack_config(tmp, tmp / "journeys"))
    yield s
    await s.__aexit__(None, None, None)


def send_mail(port: int, mail_from: str, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(mail_from, [rcpt], raw)


async def test_a_dsn_to_the_bounce_mailbox_suppresses_and_the_next_send_is_skipped(stack):
    email = "bounced-e2e@example.com"
    contact_id, handle = await start(stack, JOURNEY_ID, email)
    await at_step(handle, "pause")
    [delivery] = [d for d in stack.smtp.deliveries if d.rcpt_tos == (email,)]
    target = parse_verp(signer_from_env(warn=False), delivery.mail_from)  # the stack's signer: the same keys
    assert target is not None and target.contact_id == contact_id
    assert delivery.message["Message-ID"].startswith(f"<{target.message_hex}@")

    dsn = filled("postfix_dsn_template.eml", verp="postmaster@relay.example", rcpt=email,
                 message_id="<quoted-nothing@relay.example>")
    # the test's loop runs the mailbox's handler: the SMTP client must not block it
    await asyncio.to_thread(send_mail, stack.bounces.port, "", delivery.mail_from, dsn)

    async def suppressed():
        return await asyncio.to_thread(stack.store.suppression_reason, "email", email)

    assert await eventually(suppressed) == "hard_bounce"
    [bounced] = stack.store.events_for(contact_id, type="email.bounced")
    assert (bounced.step_id, bounced.message_id, bounced.data["via"]) == ("hello", delivery.message["Message-ID"], "verp")

    await publish(stack.client, stack.store, contact_id, "test.go")
    result = await asyncio.wait_for(handle.result(), timeout=30)
    follow_up = [t for t in result.trail if t.get("step") == "follow-up"]
    assert follow_up and follow_up[-1]["outcome"] == "skipped" and follow_up[-1]["reason"] == "suppressed", result.trail
    decisions = [d for d in stack.store.consent_decisions(contact_id) if d.step_id == "follow-up"]
    assert [d.basis for d in decisions] == ["address suppressed (hard_bounce)"]
    assert len([d for d in stack.smtp.deliveries if d.rcpt_tos == (email,)]) == 1


async def test_an_ses_complaint_withdraws_consent_and_a_forged_one_changes_nothing(stack):
    email = "complains-e2e@example.com"
    contact_id, handle = await start(stack, JOURNEY_ID, email)
    await at_step(handle, "pause")
    [delivery] = [d for d in stack.smtp.deliveries if d.rcpt_tos == (email,)]
    complaint = sample("ses_complaint.json", email=email, message_id=delivery.message["Message-ID"])
    url = f"{stack.tracking.url}/webhooks/ses"
    before = [e.type for e in stack.store.events_for(contact_id)], stack.store.consent_history(contact_id)
    async with httpx.AsyncClient(timeout=30) as http:
        forged = await http.post(url, content=json.dumps(SnsSigner().notification(complaint)))
        assert forged.status_code == 401
        assert ([e.type for e in stack.store.events_for(contact_id)], stack.store.consent_history(contact_id)) == before
        assert stack.store.suppression_reason("email", email) is None
        genuine = await http.post(url, content=json.dumps(SNS.notification(complaint)))
    assert genuine.status_code == 200 and genuine.json() == {"applied": 1}
    state = stack.store.consent_state(contact_id, "email", "marketing")
    assert (state.status, state.source) == ("withdrawn", "esp:ses")
    assert stack.store.suppression_reason("email", email) == "complaint"
    [event] = stack.store.events_for(contact_id, type="email.complained")
    assert (event.step_id, event.message_id) == ("hello", delivery.message["Message-ID"])
