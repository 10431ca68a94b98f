"""SMS text facts: E.164, GSM-7 vs UCS-2 segments (exact numbers), time zone from a number."""

from __future__ import annotations

import pytest

from activities.sms_text import GSM7_BASIC, InvalidPhoneNumber, SmsSegments, region_timezone, segments, to_e164


def test_gsm7_basic_table_has_127_characters() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points minus the escape


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", SmsSegments("GSM-7", 0, 0, 0)),
        ("Hello", SmsSegments("GSM-7", 1, 5, 5)),
        ("a" * 160, SmsSegments("GSM-7", 1, 160, 160)),
        ("a" * 161, SmsSegments("GSM-7", 2, 161, 161)),
        ("a" * 306, SmsSegments("GSM-7", 2, 306, 306)),
        ("a" * 307, SmsSegments("GSM-7", 3, 307, 307)),
        # extension characters cost two septets
        ("€" * 80, SmsSegments("GSM-7", 1, 80, 160)),
        ("€" * 81, SmsSegments("GSM-7", 2, 81, 162)),
        ("a" * 159 + "[", SmsSegments("GSM-7", 2, 160, 161)),
        # an escape pair is never split: 152 + 2 does not fit in 153, so the pair moves on
        ("a" * 152 + "{" + "a" * 8, SmsSegments("GSM-7", 2, 161, 162)),
        ("a" * 152 + "{" + "a" * 152, SmsSegments("GSM-7", 3, 305, 306)),
        ("a" * 151 + "{" + "a" * 153, SmsSegments("GSM-7", 2, 305, 306)),
        ("Préstamo: ñ, ü, é, à, Ç @ £5 ¿?", SmsSegments("GSM-7", 1, 31, 31)),
        # anything outside GSM-7 switches the whole message to UCS-2
        ("a" * 69 + "ç", SmsSegments("UCS-2", 1, 70, 70)),
        ("a" * 70 + "ł", SmsSegments("UCS-2", 2, 71, 71)),
        ("Ж" * 134, SmsSegments("UCS-2", 2, 134, 134)),
        ("Ж" * 135, SmsSegments("UCS-2", 3, 135, 135)),
        # astral characters are surrogate pairs (two units) and are never split
        ("😀" * 35, SmsSegments("UCS-2", 1, 35, 70)),
        ("😀" * 36, SmsSegments("UCS-2", 2, 36, 72)),
        ("a" + "😀" * 34, SmsSegments("UCS-2", 1, 35, 69)),
        ("a" + "😀" * 35, SmsSegments("UCS-2", 2, 36, 71)),
        ("a" * 66 + "😀" + "a" * 66, SmsSegments("UCS-2", 3, 133, 134)),  # 134 units, yet 3 parts
        ("a" * 65 + "😀" + "a" * 67, SmsSegments("UCS-2", 2, 133, 134)),
    ],
)
def test_segments(body: str, expected: SmsSegments) -> None:
    assert segments(body) == expected


def test_to_e164() -> None:
    assert to_e164("+34 600 11 12 22") == "+34600111222"
    assert to_e164("600111222", default_region="ES") == "+34600111222"
    assert to_e164("(212) 555-0123", "US") == "+12125550123"
    assert to_e164("+44 20 7123 4567") == "+442071234567"


@pytest.mark.parametrize(("phone", "region"), [("600111222", None), ("hello", "ES"), ("+34 12", None), ("+1 212 555 012", None)])
def test_invalid_numbers_raise_a_clear_error(phone: str, region: str | None) -> None:
    with pytest.raises(InvalidPhoneNumber, match="phone number"):
        to_e164(phone, region)


def test_region_timezone() -> None:
    assert region_timezone("+12125550123") == "America/New_York"
    assert region_timezone("+14155550100") == "America/Los_Angeles"
    assert region_timezone("+442071234567") == "Europe/London"
    assert region_timezone("+34600111222") is None  # Spanish mobiles: Madrid or the Canaries
    with pytest.raises(InvalidPhoneNumber):
        region_timezone("nope")
