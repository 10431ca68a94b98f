"""Where the running processes read the marketing model (scoring.yaml, stages.yaml, segments.yaml,
rules.yaml, consent.yaml, sending.yaml, their templates): the one place every loader asks.

Once something is deployed, it is the live deployment's folder, kept by the store and written
out, by content hash, into a cache folder (marketing/model.py registers that provider when a
process attaches its store). Before any deployment, or in a process without a store (`validate`,
`simulate`), the folder on disk: NURTURE_JOURNEYS_DIR, else ./journeys; NURTURE_SEGMENTS and
NURTURE_SENDING_FILE name those two files apart. Compile-time checks (`validate`, `plan`) always
read the folder being checked, never this."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

Provider = Callable[[], "Path | None"]
_provider: Provider | None = None


def set_provider(provider: Provider | None) -> None:
    """Register (None: remove) what answers `live()`: marketing.model.attach does."""
    global _provider
    _provider = provider


def live() -> Path | None:
    """The live deployment's folder, None when nothing is deployed or no store is attached."""
    return _provider() if _provider is not None else None


def disk_folder() -> Path:
    return Path(os.environ.get("NURTURE_JOURNEYS_DIR") or "journeys")


def model_file(name: str, env: str | None = None) -> Path:
    """The file `name` of the live deployment; else $env when set; else in the folder on disk."""
    folder = live()
    if folder is not None:
        return folder / name
    if env and os.environ.get(env):
        return Path(os.environ[env])
    return disk_folder() / name
