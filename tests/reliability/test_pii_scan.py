"""The scanner finds what it looks for (so a clean scan means something), and the recorded
replay histories hold no personal data either."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.reliability.pii import personal_data

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def history_with(payload: object) -> str:
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    return json.dumps({"events": [{"input": {"payloads": [{"metadata": {}, "data": data}]}}]})


@pytest.mark.parametrize("payload, needle", [
    ({"to": "ana.lopez@example.com"}, "ana.lopez@example.com"),
    ({"phone": "+34 611 70 00 01"}, "+34611700001"),
    ({"greeting": "Hola Xenobia"}, "Xenobia"),
])
def test_the_scanner_sees_inside_encoded_payloads(payload: object, needle: str) -> None:
    assert personal_data(history_with(payload), ("Xenobia",), ("+34611700001",))
    assert not personal_data(history_with({"message_id": "<ab12@nurture.local>", "contact_id": 7}), ("Xenobia",),
                             ("+34611700001",))


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_recorded_histories_hold_no_personal_data(path: Path) -> None:
    # tests/histories/record.py gives contacts @example.com addresses, +34600111222 and Title-case names
    names = ("Sal", "Web", "Ope", "Tim", "Wel", "Esp", "Con", "Car", "Los", "Dou", "Ree", "Res", "Cub", "Wbn", "Han")
    team = ("sales-leads@example.com",)  # a notify step's internal address, written in the journey
    found = personal_data(path.read_text(), tuple(f'"{n}"' for n in names), ("+34600111222",), allowed=team)
    assert not found, found
