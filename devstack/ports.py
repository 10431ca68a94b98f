"""Local TCP ports: is one free, give me a free one, wait until one answers."""

from __future__ import annotations

import socket
import time


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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


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
