"""The live marketing model, read from the store: every process (workers, tracking server, CLI)
runs the active deployment's scoring, stages, segments, rules, consent texts and send windows,
whatever checkout it was started from, and picks up a new deployment within POLL_S seconds.

`attach(store)` registers the store with compiler.live_folder: at most every POLL_S seconds it
asks the store which deployment is live (one indexed read); a new one is written out once into a
cache folder named by the hash of its files (NURTURE_MODEL_CACHE, else the temp folder), which
the usual file loaders read. Models built from a folder are cached by that folder, so a
deployment's files are parsed once per process. Without a deployment, the folder on disk as
before (compiler.live_folder). If the store cannot be read, the model in use is kept."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

from compiler import live_folder

log = logging.getLogger(__name__)
POLL_S = 2.0  # a new deployment is live in every process within this (the promise is 5 s)
T = TypeVar("T")


def cache_root() -> Path:
    return Path(os.environ.get("NURTURE_MODEL_CACHE") or Path(tempfile.gettempdir()) / f"nurture-model-{os.getuid()}")


def materialize(store: Any, deployment_id: int) -> Path | None:
    """The deployment's files written out (once) under cache_root(); None if it has none."""
    deployment = store.get_deployment(deployment_id)
    if deployment is None or not deployment.files:
        return None
    key = hashlib.sha256("\n".join(f"{n}:{h}" for n, h in sorted(deployment.files.items())).encode()).hexdigest()[:32]
    folder = cache_root() / key
    if folder.is_dir():
        return folder
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=_ensure(cache_root())))
    for name, digest in deployment.files.items():
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(store.file_content(digest) or "", encoding="utf-8")
    try:
        tmp.rename(folder)
    except OSError:  # another process wrote the same deployment first: same content
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


class LiveModel:
    """Which deployment is live in one store, re-checked at most every POLL_S seconds."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.deployment_id = 0
        self._folder: Path | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def folder(self) -> Path | None:
        with self._lock:
            if time.monotonic() - self._checked >= POLL_S:
                self._checked = time.monotonic()
                self._refresh()
            return self._folder

    def _refresh(self) -> None:
        try:
            live_id = self.store.live_deployment_id()
            if live_id != self.deployment_id:
                self._folder = materialize(self.store, live_id) if live_id else None
                self.deployment_id = live_id
        except Exception as exc:  # noqa: BLE001 - the database away: keep running the model we have
            log.warning("live model: cannot read the live deployment (%s); keeping deployment #%s",
                        exc, self.deployment_id)


_live: LiveModel | None = None


def attach(store: Any) -> LiveModel:
    """Make `store`'s live deployment the model this process runs (idempotent per store)."""
    global _live
    if _live is None or _live.store is not store:
        _live = LiveModel(store)
        live_folder.set_provider(_live.folder)
    return _live


def detach() -> None:
    """Back to the folder on disk (tests; a process closing its store)."""
    global _live
    _live = None
    live_folder.set_provider(None)


def folder_for(store: Any | None = None) -> Path:
    """The folder of the model to run: the live deployment's (attaching `store`), else disk."""
    if store is not None and hasattr(store, "live_deployment_id"):
        attach(store)
    return live_folder.live() or live_folder.disk_folder()


def model_path(store: Any, name: str, env: str | None = None) -> Path:
    """The file `name` of the model to run with `store`: the live deployment's, else $env, else
    the folder on disk (compiler.live_folder.model_file)."""
    attach(store)
    return live_folder.model_file(name, env)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def cached(load: Callable[[Path], T]) -> Callable[[Path], T | None]:
    """`load(path)` cached by the file's path, mtime and size (a deployed file never changes;
    a file on disk is read again once edited); None for an absent file."""

    @lru_cache(maxsize=32)
    def by_stamp(path: Path, stamp: tuple[int, int]) -> T:
        return load(path)

    def get(path: Path) -> T | None:
        stamp = _stamp(path)
        return None if stamp is None else by_stamp(path, stamp)

    return get


class LiveConsentModel:
    """The live consent.yaml's model, looked up at each attribute use (the tracking server's
    preference pages, unsubscribe and SMS keywords follow a deployment without a restart)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.current()  # a broken consent.yaml stops the server at start, as before (ConsentModelError)

    def current(self) -> Any:
        from compiler.consent_model import load_consent_model

        path = folder_for(self.store) / "consent.yaml"
        return _consent(path) or load_consent_model()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)


def _load_consent(path: Path) -> Any:
    from compiler.consent_model import load_consent_model

    return load_consent_model(path)


_consent = cached(_load_consent)
