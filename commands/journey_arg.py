"""Turn a JOURNEY command-line argument (a file, or an id in journeys/) into a compiled journey."""

from __future__ import annotations

from pathlib import Path

JOURNEYS_DIR = Path("journeys")


def journey_path(arg: str, journeys_dir: Path = JOURNEYS_DIR) -> Path:
    path = Path(arg)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return journeys_dir / f"{arg}.yaml"


def load_journey(arg: str, journeys_dir: Path = JOURNEYS_DIR):
    """The compiled journey, or ValueError holding every `file:line:col: message`."""
    from compiler.compile import compile_file

    path = journey_path(arg, journeys_dir)
    if not path.is_file():
        raise ValueError(f"{arg}: no such journey file ({path})")
    result = compile_file(path)
    if result.errors or result.journey is None:
        raise ValueError("\n".join(str(d) for d in result.errors) or f"{path}: does not compile")
    return result.journey
