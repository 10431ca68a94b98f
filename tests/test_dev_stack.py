"""`python cli.py dev --demo` as a real subprocess: it starts, prints its URLs, serves the
Temporal web UI (checked by headless Chromium, filtered by Journey), refuses a taken port,
and stops on SIGINT with exit 0 and no processes left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from devstack.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
READY = "ready; press Ctrl-C to stop"


def children(pid: int) -> set[int]:
    """Every descendant pid of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class DevProcess:
    def __init__(self, tmp: Path) -> None:
        self.ports = {name: free_port() for name in ("port", "ui-port", "smtp-port", "sms-port", "tracking-port",
                                                     "bounce-port")}
        args = [f"--{k}={v}" for k, v in self.ports.items()]
        self.proc = subprocess.Popen(
            [sys.executable, "cli.py", "dev", "--demo", "--data-dir", str(tmp / "data"), *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, NURTURE_DB_URL=""),
        )
        self.lines: list[str] = []

    def wait_ready(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if READY in line:
                return "".join(self.lines)
        raise AssertionError("dev stack did not become ready:\n" + "".join(self.lines))


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    d = DevProcess(tmp_path_factory.mktemp("dev"))
    d.wait_ready()
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
        d.proc.wait(10)


def test_dev_prints_urls_and_the_ui_answers(dev):
    out = "".join(dev.lines)
    ui = f"http://127.0.0.1:{dev.ports['ui-port']}"
    assert f"Temporal UI:    {ui}" in out
    assert f"SMTP sink:      127.0.0.1:{dev.ports['smtp-port']}" in out
    assert f"Tracking:       http://127.0.0.1:{dev.ports['tracking-port']}" in out
    assert f"Bounce mailbox: 127.0.0.1:{dev.ports['bounce-port']}" in out
    assert "demo: welcome-series: started: 5" in out
    assert httpx.get(ui, timeout=10).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{dev.ports['tracking-port']}/healthz", timeout=10).json() == {"ok": True}


def test_a_taken_port_is_a_clear_error(dev, tmp_path):
    taken = subprocess.run(
        [sys.executable, "cli.py", "dev", "--data-dir", str(tmp_path), f"--port={dev.ports['port']}",
         f"--ui-port={free_port()}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert taken.returncode == 1
    assert f"port {dev.ports['port']} on 127.0.0.1 is already in use (wanted for the Temporal server (--port))" in taken.stderr
    assert "Traceback" not in taken.stderr


def png_is_not_blank(path: Path) -> bool:
    """A PNG whose decoded pixel bytes take many values (a rendered page, not one colour)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) > 50


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian chromium is not installed (apt-get install -y chromium)")
def test_chromium_shows_the_demo_runs_in_the_temporal_ui_filtered_by_journey(dev, tmp_path):
    query = quote('Journey="welcome-series"')
    url = f"http://127.0.0.1:{dev.ports['ui-port']}/namespaces/default/workflows?query={query}"
    base = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--window-size=1400,900", "--virtual-time-budget=15000"]
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=90).stdout
    runs = {f"journey/welcome-series/{i}" for i in range(1, 6)}
    assert runs <= set(dom.replace("<", " ").replace(">", " ").split()), dom[-2000:]
    assert "journey/trial-to-paid/" not in dom  # the filter is applied
    shot = Path(os.environ.get("NURTURE_SCREENSHOT_DIR", tmp_path)) / "temporal-ui-demo-runs.png"
    subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, timeout=90, check=True)
    assert shot.stat().st_size > 20_000 and png_is_not_blank(shot)


def test_sigint_stops_everything_with_exit_0(dev):
    descendants = children(dev.proc.pid)
    assert descendants, "the dev stack should have started the Temporal server as a child"
    dev.proc.send_signal(signal.SIGINT)
    rest, _ = dev.proc.communicate(timeout=60)
    assert dev.proc.returncode == 0, rest
    assert "stopped" in rest
    time.sleep(0.2)
    assert [p for p in descendants if alive(p)] == []


def test_the_sinks_messages_are_dkim_signed_and_verify_against_the_dev_record(dev):
    """`cli.py dev` makes a key for the journeys' sender domain; the demo's emails verify with it."""
    import re

    import dkim

    data = Path(dev.proc.args[dev.proc.args.index("--data-dir") + 1])
    record = "".join(re.findall(r'"([^"]*)"', (data / "dkim-dev.txt").read_text()))
    assert (data / "dkim-dev.pem").stat().st_mode & 0o077 == 0
    deadline = time.monotonic() + 30
    while not sorted((data / "outbox").glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.2)
    eml = sorted((data / "outbox").glob("*.eml"))
    assert eml, "the demo sent no email"
    raw = eml[0].read_bytes()
    assert b"d=northwind.example" in raw.split(b"\r\n\r\n")[0] or b"d=northwind.example" in raw.split(b"\n\n")[0]
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record.encode() if name == b"dev._domainkey.northwind.example." else None)
