"""Benchmark `python cli.py validate` on 1,000 journey files (target: under 2 s).

`python -m bench validate [--files N] [--keep DIR]` copies the shipped journeys (renamed so
each file name matches its id) N times into a temp folder with their templates, times the
validate command as a subprocess, and times a baseline in the same run: plain
`yaml.safe_load` + `jsonschema` of the same files, also as a subprocess.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0

BASELINE = """
import json, sys, pathlib, yaml
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
bad = 0
for f in sorted(pathlib.Path(sys.argv[2]).glob("*.yaml")):
    bad += not v.is_valid(yaml.safe_load(f.read_text()))
print(bad)
"""


def generate(folder: Path, count: int, source: Path = ROOT / "journeys") -> int:
    """Write `count` journeys into `folder` (plus templates/); returns how many."""
    from compiler.config_files import split_files

    examples = split_files([source])[0]
    if not examples:
        raise SystemExit(f"no journeys in {source} to copy")
    shutil.copytree(source / "templates", folder / "templates")
    for i in range(count):
        example = examples[i % len(examples)]
        name = f"{example.stem}-{i:04d}"
        text = re.sub(r"(?m)^journey: .*$", f"journey: {name}", example.read_text(encoding="utf-8"), count=1)
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return count


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (the command and its children: steady on a busy machine), result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench validate")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--keep", help="generate into this folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        n = generate(folder, args.files)
        ours_s, ours_cpu, ours = timed([sys.executable, "cli.py", "validate", str(folder)])
        base_s, base_cpu, base = timed([sys.executable, "-c", BASELINE, str(ROOT / "schemas" / "journey.schema.json"), str(folder)])
    if ours.returncode != 0:
        print(ours.stdout[-2000:], ours.stderr[-2000:], file=sys.stderr)
        print("validate failed on the generated journeys", file=sys.stderr)
        return 1
    if base.returncode != 0:
        print(base.stderr[-2000:], file=sys.stderr)
        return 1
    print(f"validate : {n} files in {ours_s:.2f} s = {n / ours_s:,.0f} files/s, {ours_cpu:.2f} s CPU ({ours.stdout.strip()})")
    print(f"baseline : {n} files in {base_s:.2f} s = {n / base_s:,.0f} files/s, {base_cpu:.2f} s CPU (yaml.safe_load + jsonschema)")
    print(f"ratio    : validate takes {ours_s / base_s:.2f}x the baseline; target under {TARGET_S:.1f} s: "
          + ("met" if ours_s < TARGET_S else "MISSED"))
    return 0 if ours_s < TARGET_S else 1
