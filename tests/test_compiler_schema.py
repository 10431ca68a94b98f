"""The published schema: valid Draft 2020-12, accepted by a third-party validator on every
shipped journey, refusing a bad one, and agreeing with the compiler's fast gate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from compiler.config_files import split_files
from compiler.schema_check import JOURNEY_SCHEMA, fast_validator, journey_validator

ROOT = Path(__file__).resolve().parent.parent
JOURNEY_FILES = split_files([ROOT / "journeys"])[0]
CHECK = shutil.which("check-jsonschema") or str(Path(__import__("sys").executable).parent / "check-jsonschema")


def test_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(JOURNEY_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["unevaluatedProperties"] is False


def test_journeys_name_the_schema_on_their_first_line() -> None:
    for path in JOURNEY_FILES:
        assert path.read_text().split("\n", 1)[0] == "# yaml-language-server: $schema=../schemas/journey.schema.json", path


def test_check_jsonschema_accepts_every_shipped_journey() -> None:
    done = subprocess.run([CHECK, "--schemafile", str(JOURNEY_SCHEMA), *map(str, JOURNEY_FILES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_jsonschema_refuses_a_misspelt_step_type(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "journeys" / "trial-to-paid.yaml").read_text().replace("type: send_sms", "type: sned_sms"))
    done = subprocess.run([CHECK, "--schemafile", str(JOURNEY_SCHEMA), str(bad)], capture_output=True, text=True)
    assert done.returncode == 1 and "sned_sms" in done.stdout


@pytest.mark.parametrize(
    "value, ok",
    [("30m", True), ("1w2d", True), ("P3DT4H", True), ("PT15M", True), ("3mo", False), ("P1M", False), ("P1Y", False), ("PT", False), ("1.5h", False)],
)
def test_duration_pattern(value: str, ok: bool) -> None:
    step = {"id": "w", "type": "wait", "duration": value}
    doc = {"journey": "j", "entry": {"manual": True}, "steps": [step]}
    assert journey_validator().is_valid(doc) is ok
    assert fast_validator()(doc) is ok
