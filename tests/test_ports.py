"""devstack.ports: a port chosen for a server stays its own until the server binds it (also while
a restart test keeps the server down), and the server can still bind it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from devstack.ports import free_port, held, is_free

PICKS = 20_000  # bind(0) calls: each would hit one of 20 unreserved ports with p ~ 20/28,000


def ephemeral_picks(n: int) -> set[int]:
    """The ports the kernel hands out to `n` sockets binding port 0 (as other programs do)."""
    picked = set()
    for _ in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            picked.add(s.getsockname()[1])
    return picked


def test_a_free_port_is_not_handed_to_anyone_else_before_its_server_binds_it() -> None:
    ports = {free_port() for _ in range(20)}
    assert len(ports) == 20
    assert ports.isdisjoint(ephemeral_picks(PICKS))  # ~14 of them were handed out again before the fix
    assert all(is_free(p) for p in ports)


async def test_a_server_binds_a_free_port() -> None:
    port = free_port()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)  # SO_REUSEADDR, as servers do
    async with server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()


def test_a_held_port_refuses_connections_and_stays_ours_until_released() -> None:
    port = free_port()
    with held(port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
            with pytest.raises(OSError):
                other.bind(("127.0.0.1", port))
        assert port not in ephemeral_picks(PICKS)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
