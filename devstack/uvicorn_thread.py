"""Serve an ASGI app with uvicorn on 127.0.0.1 in a background thread (tests, the dev stack)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class UvicornThread:
    """`with UvicornThread(app) as server: httpx.get(server.url + "/...")`; port 0 picks a free port."""

    def __init__(self, app: Any, port: int = 0, *, host: str = "127.0.0.1", name: str = "asgi") -> None:
        self._config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "UvicornThread":
        if self._thread is not None:
            raise RuntimeError(f"{self._name} server already started")
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(target=self._server.run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                self._thread = None
                raise OSError(f"{self._name} server did not start on {self.host}:{self._config.port}")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "UvicornThread":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
