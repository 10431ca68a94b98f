"""devstack.temporal_server: connect() hands out a client only once the frontend serves, and a
server that is not serving is a clear error, not a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.ports import free_port
from devstack.temporal_server import TemporalDevServer


async def test_connect_returns_once_serving_and_wait_serving_names_a_stopped_server(tmp_path: Path) -> None:
    server = TemporalDevServer(port=free_port(), db_file=tmp_path / "t.db", log_file=tmp_path / "t.log").start()
    try:
        client = await server.connect()
        assert await client.service_client.check_health()
    finally:
        server.stop()
    with pytest.raises(RuntimeError, match=f"on {server.address} is not serving after 1 s"):
        await server.wait_serving(client, timeout=1.0)
