"""DKIM signing cost: the send activity with and without a signature, in the same run.

`python -m bench dkim [--n 300] [--kind rsa|ed25519]`

Calls the real `send_email` activity (consent and suppression checks, render with CSS inlining,
build with tracked links, send ledger, SMTP to a real aiosmtpd sink, file-backed SQLite store)
for the demo's welcome email (journeys/welcome-series.yaml, template welcome-1), each of N messages
unsigned and signed back to back, the order turning. Prints the mean ms per message of the send
activity each way (target: signing adds < 15%), of the build alone (render + build) each way, and
of the signature alone (dkimpy over the finished message's bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from activities.contracts import SendInput, StepRef
from activities.deps import Deps, SmtpConfig
from activities.dkim_signing import DkimSigner, generate_key
from activities.email import send_email
from activities.email_build import compose_email, wire_bytes
from bench.harness import ROOT, make_contacts
from compiler.compile import compile_file
from compiler.ir import EmailTemplate, Journey
from devstack.smtp_sink import SmtpSink
from store import Store
from tracking.tokens import DEV_KEY, TokenSigner

STEP = "welcome-1"


def demo_journey() -> Journey:
    result = compile_file(ROOT / "journeys" / "welcome-series.yaml")
    if result.journey is None:
        raise SystemExit(f"welcome-series does not compile: {result.errors}")
    return result.journey


def send_input(journey: Journey, contact_id: int) -> SendInput:
    """What the workflow gives the activity for the welcome step (workflows/steps/messaging.py)."""
    templates = {k: dict(vars(t)) for k, t in journey.email_templates if k == STEP or k.startswith(STEP + ".")}
    ref = StepRef(journey_id=journey.id, version=journey.version, workflow_id=f"bench-{uuid.uuid4().hex}",
                  run_id="r", step_id=STEP, visit=1, contact_id=contact_id, at=datetime.now(timezone.utc).isoformat())
    return SendInput(ref=ref, template_name=STEP, purpose="marketing", templates=templates,
                     parts=journey.parts_for(STEP), sender=journey.sender or "", reply_to=journey.reply_to or "")


async def timed_send(deps: Deps, journey: Journey, contact_id: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one send_email call; CPU is this process's, the SMTP sink's thread included."""
    start, cpu = time.perf_counter(), time.process_time()
    result = await send_email(deps, send_input(journey, contact_id))
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    if result.status != "sent":
        raise SystemExit(f"send: {result.status} {result.reason}")
    return seconds


def timed_build(deps: Deps, journey: Journey, i: int) -> tuple[tuple[float, float], bytes]:
    """(wall, CPU) seconds of one render + build (no store, no SMTP), and the message's bytes."""
    template = EmailTemplate(**dict(vars(dict(journey.email_templates)[STEP])))
    context: dict[str, Any] = {"contact": {"first_name": "Ana", "email": "ana@example.com"}, "tags": [],
                               "temperature": "warm", "confirm_url": "http://x/confirm"}
    start, cpu = time.perf_counter(), time.process_time()
    built = compose_email(template, context, to="ana@example.com", sender=journey.sender or deps.sender,
                          message_key=f"b{i}", base_url=deps.tracking_url, signer=deps.signer, contact_id=1,
                          domain=deps.message_domain, parts=journey.parts_for(STEP), dkim=deps.dkim)
    return (time.perf_counter() - start, time.process_time() - cpu), wire_bytes(built.message)


def _ms(figures: list[tuple[float, float]], k: int) -> float:
    return statistics.fmean(f[k] for f in figures) * 1000


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench dkim", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="messages per variant (default 300)")
    ap.add_argument("--kind", choices=("rsa", "ed25519"), default="rsa")
    args = ap.parse_args(argv)
    return asyncio.run(run(args.n, args.kind))


async def run(n: int, kind: str) -> int:
    journey = demo_journey()
    domain = (journey.sender or "x@northwind.example").rpartition("@")[2].rstrip(">")
    signer = DkimSigner.load(generate_key(kind), domain, "bench")
    with tempfile.TemporaryDirectory(prefix="bench-dkim-") as tmp, SmtpSink() as sink:
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        deps = Deps(store=store, signer=TokenSigner([DEV_KEY]), smtp=SmtpConfig(port=sink.port))
        ids = make_contacts(store, 50, prefix="dk")
        for i in range(10):  # warm-up: imports, caches, the first connections
            await timed_send(deps, journey, ids[i])
        # each message is sent both ways, back to back, the order turning: the machine's load
        # (2 shared cores) falls on both variants alike
        sends: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        builds: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        raws: dict[bool, list[bytes]] = {False: [], True: []}
        for i in range(n):
            for signed in ((False, True) if i % 2 == 0 else (True, False)):
                deps.dkim = signer if signed else None
                sends[signed].append(await timed_send(deps, journey, ids[i % len(ids)]))
                seconds, raw = timed_build(deps, journey, i)
                builds[signed].append(seconds)
                raws[signed].append(raw)
        start, cpu = time.perf_counter(), time.process_time()
        for raw in raws[False]:
            signer.header_value(raw)
        sign_only = ((time.perf_counter() - start) / n, (time.process_time() - cpu) / n)
        store.close()
        if not all(raw.startswith(b"DKIM-Signature:") for raw in raws[True]) or any(b"DKIM" in r for r in raws[False]):
            raise SystemExit("signed builds must carry a DKIM-Signature, unsigned ones none")
    print(f"DKIM {signer.algorithm}, {n} messages each way, interleaved "
          f"(the demo's welcome email, {len(raws[False][0]):,} bytes); mean ms per message, wall / CPU")
    for label, figures in (("send activity", sends), ("build only", builds)):
        print(f"  {label:<15}" + "".join(
            f"  {kind} {_ms(figures[False], k):7.2f} -> signed {_ms(figures[True], k):7.2f} "
            f"({_ms(figures[True], k) / _ms(figures[False], k) - 1:+.1%})" for k, kind in ((0, "wall"), (1, "CPU"))))
    print(f"  {'signature alone':<15}  wall {sign_only[0] * 1000:7.2f} = {sign_only[0] * 1000 / _ms(sends[False], 0):.1%}"
          f" of the unsigned send activity; CPU {sign_only[1] * 1000:.2f} = "
          f"{sign_only[1] * 1000 / _ms(sends[False], 1):.1%} (target: signing adds < 15%)")
    return 0
