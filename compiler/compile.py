"""The journey compiler: YAML file -> checked, immutable `Journey` IR, or every error.

Public API:
    compile_file(path) -> CompileResult
    compile_paths(paths) -> list[CompileResult]      (folders mean their journey files)
    load_journeys(dir="journeys") -> dict[str, Journey]   (raises JourneyLoadError)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

from compiler import checks, ir
from compiler.build import build_entry, build_policy, build_step
from compiler.config_files import split_files
from compiler.diagnostics import CompileResult, Diagnostic, Problems
from compiler.schema_check import check_schema
from compiler.sender import journey_sender
from compiler.yaml_loader import LoadedDoc, Pos, index_to_pos, load_yaml

MAX_BYTES = 1_000_000
PARALLEL_FROM = 200  # files; below this, forking costs more than it saves


class JourneyLoadError(Exception):
    """Some journey files do not compile; `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        lines = "\n".join(str(d) for d in diagnostics)
        super().__init__(f"{len(diagnostics)} error(s) in journeys:\n{lines}")


def compile_file(path: str | Path) -> CompileResult:
    path = Path(path)
    problems = Problems(str(path))
    try:
        journey = _compile(path, problems)
    except Exception as exc:  # a bug here must still not print a traceback at the author
        problems.add((1, 1), f"internal compiler error: {type(exc).__name__}: {exc}")
        journey = None
    errors = problems.sorted()
    return CompileResult(str(path), None if errors else journey, errors)


def compile_paths(paths: Iterable[str | Path], workers: int = 1) -> list[CompileResult]:
    """Compile the journey files among `paths` (folders: their journey files), in order.

    `workers > 1` compiles large batches in forked processes (for the CLI; a process that
    runs threads, like a Temporal worker, should keep the default)."""
    journeys, _configs = split_files(paths)
    if workers <= 1 or len(journeys) < PARALLEL_FROM:
        return [compile_file(p) for p in journeys]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    first = compile_file(journeys[0])  # warms the schema and template caches the children inherit
    chunk = max(len(journeys) // (workers * 4), 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [first] + list(pool.map(compile_file, journeys[1:], chunksize=chunk))


def load_journeys(dir: str | Path = "journeys") -> dict[str, ir.Journey]:
    """Every journey in `dir` by id; JourneyLoadError if any file is bad."""
    results = compile_paths([dir])
    errors = [d for r in results for d in r.errors]
    if errors:
        raise JourneyLoadError(errors)
    return {r.journey.id: r.journey for r in results if r.journey}


def read_source(path: Path, problems: Problems) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            problems.add((1, 1), f"file is too large ({size:,} bytes; a journey is at most {MAX_BYTES:,})")
            return None
        raw = path.read_bytes()
    except OSError as exc:
        problems.add((1, 1), f"cannot read the file: {exc.strerror or exc}")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        problems.add(index_to_pos(before, len(before)), f"not UTF-8 text (byte {raw[exc.start]:#04x})")
        return None


def load_document(path: Path, problems: Problems, empty: str = "the file is empty") -> tuple[LoadedDoc | None, list[Pos]]:
    """Read and strictly parse a YAML file, reporting what is wrong with it as YAML.
    Returns the document (None when there is no data) and the positions already reported.
    Other config loaders use this too, so every YAML file in the product reads the same way."""
    text = read_source(path, problems)
    if text is None:
        return None, []
    doc, yaml_errors = load_yaml(text)
    for pos, message in yaml_errors:
        problems.add(pos, message)
    if doc.data is None and not yaml_errors:
        problems.add((1, 1), empty)
    return (doc if doc.data is not None else None), [pos for pos, _ in yaml_errors]


def _compile(path: Path, problems: Problems) -> ir.Journey | None:
    doc, reported = load_document(path, problems, "the file is empty; a journey starts with `journey: <id>`")
    if doc is None:
        return None
    # a value the loader already refused (`no`, `020`, an alias) gets no second message
    bad = check_schema(doc, problems, quiet_at=set(reported))
    data = doc.data
    unit = checks.Unit(path=path, doc=doc, problems=problems)
    if isinstance(data, dict):
        checks.check_journey_name(unit)
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or ("steps",) in bad:
        return None
    broken = {p[1] for p in bad if len(p) >= 2 and p[0] == "steps"}
    checks.collect_ids(unit)
    steps = data["steps"]
    unit.raw = [(i, d) for i, d in enumerate(steps) if isinstance(d, dict)]
    for i, d in enumerate(steps):
        if i not in broken:
            following = steps[i + 1].get("id") if i + 1 < len(steps) and isinstance(steps[i + 1], dict) else None
            unit.steps.append((i, d, build_step(d, following if isinstance(following, str) else None)))
    sender, reply_to = journey_sender(path, doc, problems)
    for check in (
        checks.check_targets,
        checks.check_events,
        checks.check_conditions,
        checks.check_splits,
        checks.check_consent,
        checks.check_times,
        checks.check_objectives,
        checks.check_templates,
    ):
        check(unit)
    if problems:
        return None  # reachability and loops need the whole, valid graph
    checks.check_flow(unit)
    checks.check_references(unit)  # names defined in other files, once the journey itself is sound
    if problems:
        return None
    journey = ir.Journey(
        id=data["journey"],
        title=data.get("title", ""),
        description=data.get("description", ""),
        entry=build_entry(data["entry"]),
        goal=data.get("goal"),
        policy=build_policy(data.get("policy") or {}),
        steps=tuple(step for _, _, step in unit.steps),
        email_templates=tuple(sorted(unit.email_templates.items())),
        sms_templates=tuple(sorted(unit.sms_templates.items())),
        template_parts=tuple(sorted(unit.template_parts.items())),
        template_uses=tuple(sorted(unit.template_uses.items())),
        objectives=tuple((k, float(v)) for k, v in (data.get("objectives") or {}).items()),
        sender=sender,
        reply_to=reply_to,
    )
    return dataclasses.replace(journey, version=journey.content_hash())
