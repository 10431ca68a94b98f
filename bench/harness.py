"""The real pieces the benchmarks and the reliability suite run on, in one place.

`Rig` starts a file-backed Temporal dev server (devstack.temporal_server), a real SMTP sink
(devstack.smtp_sink) and a contact store; `WorkerProcess` runs `python worker.py` against
them as a child process (so it can be killed with SIGKILL). Helpers write a small journey,
create consenting contacts, enrol them and wait for every run to end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

from sqlalchemy import create_engine, select
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from compiler.compile import compile_file
from compiler.ir import Journey
from devstack.ports import free_port, held
from devstack.smtp_sink import Delivery, SmtpSink
from devstack.temporal_server import TemporalDevServer, die_with_parent
from store import Store, schema
from workflows.run_types import RunResult, workflow_id_for

ROOT = Path(__file__).resolve().parent.parent

TEXT = "Hi {{ contact.first_name or 'there' }}, {body} https://example.com/{name}\nUnsubscribe: {{ unsubscribe_url }}\n"
HTML = ('<html><body><p>Hi {{ contact.first_name or "there" }}, {body}</p>'
        '<p><a href="https://example.com/{name}">Read</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        "</body></html>\n")


def write_templates(folder: Path, names: Iterable[str]) -> None:
    """An email template (subject, text, HTML) per name under `folder`/templates."""
    t = folder / "templates"
    t.mkdir(parents=True, exist_ok=True)
    for name in names:
        (t / f"{name}.subject.txt").write_text(f"{name} for {{{{ contact.first_name or 'you' }}}}\n")
        (t / f"{name}.txt").write_text(TEXT.replace("{body}", name).replace("{name}", name))
        (t / f"{name}.html").write_text(HTML.replace("{body}", name).replace("{name}", name))


def compile_text(folder: Path, journey_id: str, yaml_text: str, templates: Iterable[str]) -> Journey:
    """Write `folder`/`journey_id`.yaml and its templates, compile it, raise on any error."""
    folder.mkdir(parents=True, exist_ok=True)
    write_templates(folder, templates)
    path = folder / f"{journey_id}.yaml"
    path.write_text(yaml_text)
    result = compile_file(path)
    if result.journey is None:
        raise ValueError("\n".join(str(e) for e in result.errors))
    return result.journey


def two_emails(folder: Path, pause: str = "1s", until: str | None = None) -> Journey:
    """first (email) -> pause -> second (email): the reliability suite's journey. The pause is a
    `wait` of `pause`; with `until`, a `wait_for` that event (or `pause` at most), so a test
    that must act while every run waits ends the wait itself instead of racing a timer."""
    wait = (f"{{id: pause, type: wait_for, events: [{{event: {until}}}], timeout: {pause}}}" if until
            else f"{{id: pause, type: wait, duration: {pause}}}")
    text = (f"journey: two-emails\ntitle: Two emails\nentry: {{manual: true}}\npolicy:\n  consent: {{email: marketing}}\n"
            f"steps:\n  - {{id: first, type: send_email, template: first}}\n"
            f"  - {wait}\n  - {{id: second, type: send_email, template: second}}\n")
    return compile_text(folder, "two-emails", text, ["first", "second"])


FIRST_NAME = "Xenobia"  # every contact's (fake) name and phone, easy to look for in histories
PHONE_PREFIX = "+3461170"


def make_contacts(store: Any, n: int, prefix: str = "c", consent: bool = True) -> list[int]:
    """`n` contacts with fake example.com addresses and (by default) email marketing consent."""
    ids = []
    for i in range(n):
        cid = store.create_contact(email=f"{prefix}{i}@example.com", first_name=FIRST_NAME,
                                   last_name=f"Quill{prefix}{i}", phone=f"{PHONE_PREFIX}{i:04d}")
        if consent:
            store.record_consent(cid, "email", "marketing", "granted", source="bench")
        ids.append(cid)
    return ids


async def gather_limited(items: Iterable[Any], fn: Callable[[Any], Awaitable[Any]], limit: int = 32) -> list[Any]:
    """`fn(item)` for every item, at most `limit` at a time, results in order."""
    sem = asyncio.Semaphore(limit)

    async def one(item: Any) -> Any:
        async with sem:
            return await fn(item)

    return await asyncio.gather(*(one(i) for i in items))


async def enrol_all(client: Client, store: Any, journey: Journey, ids: list[int], task_queue: str,
                    limit: int = 32) -> list[str]:
    """Start the journey for every contact through the product's bulk path (deploy.enrolment,
    what `cli.py enroll` runs), without search attributes (the baselines have none); the
    workflow ids."""
    from deploy.enrolment import enrol_many

    store.save_journey_version(journey.id, journey.version, journey.to_dict())
    summary = await enrol_many(client, store, journey, ids, concurrency=limit, task_queue=task_queue,
                               search_attributes=False)
    assert summary.started == len(ids), summary.lines()
    return [workflow_id_for(journey.id, cid) for cid in ids]


async def result_of(client: Client, workflow_id: str, give_up: Callable[[], bool], result_type: type = RunResult) -> Any:
    """The run's result, retrying through server restarts until `give_up()`."""
    while True:
        try:
            return await client.get_workflow_handle(workflow_id, result_type=result_type).result()
        except WorkflowFailureError as exc:
            return exc
        except RPCError:
            if give_up():
                raise
            await asyncio.sleep(0.5)


async def wait_all(client: Client, workflow_ids: list[str], timeout: float, result_type: type = RunResult) -> list[Any]:
    """Every run's result (or its WorkflowFailureError), in order; TimeoutError once no run has
    ended for `timeout` s. A stall, not a total: the total follows the CPU the machine gives
    (300 runs after a kill -9: 45 s alone, over 150 s with the load average at 12 on 2 cores)."""
    last_end, ended = [time.monotonic()], [0]

    def stalled() -> bool:
        return time.monotonic() - last_end[0] > timeout

    async def one(workflow_id: str) -> Any:
        result = await result_of(client, workflow_id, stalled, result_type)
        last_end[0], ended[0] = time.monotonic(), ended[0] + 1
        return result

    waiting = asyncio.ensure_future(gather_limited(workflow_ids, one, limit=64))
    while not waiting.done():
        await asyncio.wait([waiting], timeout=0.5)
        if not waiting.done() and stalled():
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            raise TimeoutError(f"no run ended for {timeout:.0f} s; {ended[0]} of {len(workflow_ids)} ended")
    return waiting.result()


def mail_by_recipient(deliveries: list[Delivery]) -> dict[str, Counter[str]]:
    """Recipient address -> how many times each Message-ID reached the sink."""
    out: dict[str, Counter[str]] = {}
    for d in deliveries:
        for rcpt in d.rcpt_tos:
            out.setdefault(rcpt.lower(), Counter())[str(d.message["Message-ID"]).strip()] += 1
    return out


def delivery_problems(deliveries: list[Delivery], expected: dict[str, set[str]],
                      uncertain: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """What is wrong with what reached the sink, given address -> the Message-IDs it must have
    received, each exactly once. A Message-ID in `uncertain` (the ledger could not tell whether
    the server took it: the worker died during DATA) may be missing, never repeated."""
    got = mail_by_recipient(deliveries)
    problems = []
    for address, want in expected.items():
        ids = got.get(address.lower(), Counter())
        twice = sorted(m for m, n in ids.items() if n > 1)
        missing = sorted(want - set(ids) - uncertain)
        extra = sorted(set(ids) - want)
        if twice or missing or extra:
            problems.append(f"{address}: missing {missing}, unexpected {extra}, repeated {twice}")
    return problems


def sent_message_ids(result: Any) -> tuple[set[str], set[str]]:
    """(Message-IDs the run says it sent, those of them sent with reason "uncertain")."""
    sent = {e["message_id"] for e in result.trail if e.get("outcome") == "sent" and e.get("message_id")}
    unsure = {e["message_id"] for e in result.trail if e.get("outcome") == "sent" and e.get("reason") == "uncertain"}
    return sent, unsure


class WorkerProcess:
    """`python worker.py` as a child process, configured by environment variables."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> "WorkerProcess":
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        log = open(self.log_file, "ab")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env={**os.environ, **self.env},
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=die_with_parent)  # no worker left behind by a killed test run
        log.close()
        deadline = time.monotonic() + timeout
        while b"worker serving" not in self.log_file.read_bytes()[offset:]:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {self.log_file.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, activities die mid-flight."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kb(self) -> int:
        """Resident memory of the worker (from /proc)."""
        return rss_kb(self.process.pid) if self.process else 0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Rig:
    """A dev server (file database), an SMTP sink and a store in `workdir`."""

    workdir: Path
    db_url: str | None = None  # default: a SQLite file in workdir
    server: TemporalDevServer = field(init=False)
    sink: SmtpSink = field(init=False)
    store: Any = field(init=False)
    client: Client = field(init=False)
    task_queue: str = field(default_factory=lambda: f"rig-{uuid.uuid4().hex[:8]}")
    workers: list[WorkerProcess] = field(default_factory=list)
    earlier: list[Delivery] = field(default_factory=list)  # received by sinks since restarted

    async def __aenter__(self) -> "Rig":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_url = self.db_url or f"sqlite:///{self.workdir / 'nurture.db'}"
        self.store = Store.open(self.db_url)
        self.sink = SmtpSink().start()  # port 0: the sink binds the port the kernel picks, no window
        try:
            # a port the server binds only once its process runs: reserved by free_port until then
            self.server = TemporalDevServer(port=free_port(), db_file=self.workdir / "temporal.db",
                                            log_file=self.workdir / "temporal.log").start()
            self.client = await self.server.connect()
        except BaseException:
            self.sink.stop()
            self.store.close()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for w in self.workers:
            w.stop(10)
        self.server.stop()
        self.sink.stop()
        self.store.close()

    def worker_env(self, **extra: str) -> dict[str, str]:
        return {"TEMPORAL_ADDRESS": self.server.address, "NURTURE_DB_URL": self.db_url or "",
                "NURTURE_SMTP_HOST": "127.0.0.1", "NURTURE_SMTP_PORT": str(self.sink.port),
                "NURTURE_TASK_QUEUE": self.task_queue, "NURTURE_TRACKING_URL": "http://127.0.0.1:9",
                "PYTHONUNBUFFERED": "1", **extra}

    def start_worker(self, **extra: str) -> WorkerProcess:
        worker = WorkerProcess(self.worker_env(**extra), self.workdir / f"worker-{len(self.workers)}.log").start()
        self.workers.append(worker)
        return worker

    @property
    def deliveries(self) -> list[Delivery]:
        """Every message received, across sink restarts."""
        return self.earlier + self.sink.deliveries

    async def until_delivered(self, count: int, stall: float = 60.0,
                              which: Callable[[Delivery], bool] = lambda d: True) -> None:
        """Until `count` messages (of those `which` accepts) arrived; AssertionError once none
        has arrived for `stall` s (a stall, not a total: see wait_all)."""
        seen, last_change = -1, time.monotonic()
        while (arrived := sum(1 for d in self.deliveries if which(d))) < count:
            if arrived != seen:
                seen, last_change = arrived, time.monotonic()
            assert time.monotonic() - last_change < stall, f"only {arrived} of {count} messages arrived, none for {stall:.0f} s"
            await asyncio.sleep(0.05)

    async def restart_sink(self, down_s: float = 0.0) -> None:
        """Stop the SMTP sink, stay down `down_s` seconds, listen again on the same port."""
        self.earlier += self.sink.deliveries
        port = self.sink.port
        self.sink.stop()
        with held(port):  # refused while down, and no other socket takes the port meanwhile
            await asyncio.sleep(down_s)
        self.sink = SmtpSink(port=port).start()

    async def restart_server(self, down_s: float = 0.0) -> None:
        """Stop the dev server and start it again on the same port and database file."""
        await asyncio.to_thread(self.server.stop)
        with held(self.server.port):
            await asyncio.sleep(down_s)
        await asyncio.to_thread(self.server.start)
        await self.server.wait_serving(self.client)

    def workflow_ids(self, journey: Journey, ids: list[int]) -> list[str]:
        return [workflow_id_for(journey.id, cid) for cid in ids]

    def enrolled_workflow_ids(self) -> set[str]:
        """Every run the product started on this rig, from the store's enrolments (read directly:
        unlike the server's workflow list, it is complete as soon as the enrolment returned)."""
        engine = create_engine(self.db_url or "")
        try:
            with engine.connect() as conn:
                return set(conn.execute(select(schema.enrolments.c.workflow_id)).scalars())
        finally:
            engine.dispose()
