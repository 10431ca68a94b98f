"""Local TCP ports: is one free, give me a free one, keep one while its server is down, wait
until one answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager


class PortInUse(OSError):
    """A port the dev stack needs is already taken by another program."""


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as servers do (Go, asyncio): connections in TIME_WAIT from a stopped server do not
        # make the port busy; a listening socket still does
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def require_free(port: int, what: str, host: str = "127.0.0.1") -> None:
    """Raise PortInUse naming the service and the flag that moves it."""
    if port and not is_free(port, host):
        raise PortInUse(f"port {port} on {host} is already in use (wanted for {what}); "
                        f"stop the program using it or choose another port")


def free_port(host: str = "127.0.0.1") -> int:
    """A port for a server to bind soon, which the kernel will not hand to anyone else meanwhile.

    Binding port 0 and closing the socket leaves a window (until our server binds: seconds for a
    Temporal dev server under load) in which the kernel may give the same port to any process
    that binds port 0 or connects out from an ephemeral port. So the port is left in TIME_WAIT
    (a connection to it, closed from the listening side first): for ~60 s Linux picks no
    ephemeral port that has one, while a server binding it with SO_REUSEADDR (Go, asyncio,
    aiosmtpd, uvicorn, http.server: all of them) still can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the TIME_WAIT socket inherits it
        listener.bind((host, 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection((host, port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the side that closes first holds TIME_WAIT, on `port`
            client.recv(1)  # its FIN has arrived: the client's close completes the handshake
    return port


@contextmanager
def held(port: int, host: str = "127.0.0.1") -> Iterator[None]:
    """Keep `port` while its server is down (a restart test): bound, not listening, so a client
    is refused as by a stopped server, and no other socket gets the port (an ephemeral one, or
    one left in TIME_WAIT by a client, would stop the server from binding it again). Start the
    server after leaving the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as placeholder:
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # next to the old server's TIME_WAITs
        placeholder.bind((host, port))
        yield


def answers(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until_answers(port: int, timeout: float, host: str = "127.0.0.1", alive: object = None) -> bool:
    """Poll until the port answers; stop early (False) when `alive()` says the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(port, host):
            return True
        if callable(alive) and not alive():
            return False
        time.sleep(0.05)
    return False
