"""Send windows per channel and region (journeys/sending.yaml) on top of a journey's quiet hours:
exact times, across midnight and DST, the shipped file, validate, and a real postponed SMS."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from activities.quiet_hours import NoSendWindow, allowed_at, postpone_until, region_of
from compiler import ir
from compiler.sending_model import BUILTIN, SendWindow, load_sending_rules
from engine.simulation import Simulation
from tests.journey_builder import journey

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc
SMS = BUILTIN.window("sms", None)
FR_SMS = BUILTIN.window("sms", "FR")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


def contact(phone: str | None = None, **attributes: str) -> SimpleNamespace:
    return SimpleNamespace(phone=phone, attributes=attributes, timezone=None)


def test_inside_the_window_sends_now():
    assert allowed_at(local("Europe/Madrid", 2024, 6, 10, 12, 0), ZoneInfo("Europe/Madrid"), None, SMS) is None


def test_late_evening_sms_waits_for_eight_the_next_morning():
    now = local("Europe/Madrid", 2024, 6, 10, 22, 30)  # 20:30 UTC
    assert allowed_at(now, ZoneInfo("Europe/Madrid"), None, SMS) == (utc(2024, 6, 11, 6, 0), "send_window")


def test_window_end_is_exclusive_and_start_inclusive():
    tz = ZoneInfo("Europe/Madrid")
    assert allowed_at(local("Europe/Madrid", 2024, 6, 10, 8, 0), tz, None, SMS) is None
    assert allowed_at(local("Europe/Madrid", 2024, 6, 10, 21, 0), tz, None, SMS) == (utc(2024, 6, 11, 6, 0), "send_window")


def test_quiet_hours_across_midnight_combined_with_the_window():
    tz, quiet = ZoneInfo("Europe/Madrid"), (21 * 60, 9 * 60)  # journey: 21:00-09:00
    # 23:30 -> 09:00 next day: quiet hours end after the SMS window opens (08:00)
    assert allowed_at(local("Europe/Madrid", 2024, 6, 10, 23, 30), tz, quiet, SMS) == (utc(2024, 6, 11, 7, 0), "quiet_hours")
    # 00:30, after midnight -> 09:00 the same day
    assert allowed_at(local("Europe/Madrid", 2024, 6, 11, 0, 30), tz, quiet, SMS) == (utc(2024, 6, 11, 7, 0), "quiet_hours")
    # journey quiet hours 22:00-07:00 end before the window opens: the window decides (08:00)
    assert allowed_at(local("Europe/Madrid", 2024, 6, 11, 6, 30), tz, (22 * 60, 7 * 60), SMS) == (
        utc(2024, 6, 11, 6, 0), "send_window")


def test_france_no_sms_on_sunday_and_not_after_eight():
    tz = ZoneInfo("Europe/Paris")
    # Saturday 2024-03-30 20:30 CET -> Sunday is closed -> Monday 2024-04-01 10:00 CEST (after the DST jump)
    assert allowed_at(local("Europe/Paris", 2024, 3, 30, 20, 30), tz, None, FR_SMS) == (utc(2024, 4, 1, 8, 0), "send_window")
    # Monday 09:15 -> 10:00 the same day
    assert allowed_at(local("Europe/Paris", 2024, 6, 10, 9, 15), tz, None, FR_SMS) == (utc(2024, 6, 10, 8, 0), "send_window")
    # Saturday 12:00 is open
    assert allowed_at(local("Europe/Paris", 2024, 6, 15, 12, 0), tz, None, FR_SMS) is None


def test_dst_spring_forward_and_fall_back():
    ny = ZoneInfo("America/New_York")  # clocks go 02:00 EST -> 03:00 EDT on 2024-03-10
    assert allowed_at(local("America/New_York", 2024, 3, 9, 22, 0), ny, None, SMS) == (utc(2024, 3, 10, 12, 0), "send_window")
    paris = ZoneInfo("Europe/Paris")  # clocks go 03:00 CEST -> 02:00 CET on 2024-10-27
    assert allowed_at(local("Europe/Paris", 2024, 10, 26, 21, 30), paris, None, SMS) == (utc(2024, 10, 27, 7, 0), "send_window")
    # quiet hours 21:00-08:00 spanning the fall-back night: 08:00 CET is 07:00 UTC
    assert allowed_at(local("Europe/Paris", 2024, 10, 26, 23, 0), paris, (21 * 60, 8 * 60), None) == (
        utc(2024, 10, 27, 7, 0), "quiet_hours")


def test_quiet_hours_covering_the_window_raise():
    with pytest.raises(NoSendWindow):
        allowed_at(utc(2024, 6, 10, 12, 0), ZoneInfo("UTC"), (7 * 60, 23 * 60), SMS)


def test_region_from_phone_else_country_attribute():
    assert region_of(contact("+33612345678")) == "FR"
    assert region_of(contact("+12125550123")) == "US"
    assert region_of(contact("0612345678"), default_region="FR") == "FR"
    assert region_of(contact(None, country="fr")) == "FR"
    assert region_of(contact("not a number")) is None
    assert region_of(contact(None)) is None


def test_region_rule_replaces_the_channel_rule_and_email_has_none():
    assert BUILTIN.window("sms", "FR") == SendWindow(10 * 60, 20 * 60, (0, 1, 2, 3, 4, 5))
    assert BUILTIN.window("sms", "US") == SendWindow(8 * 60, 21 * 60)
    assert BUILTIN.window("email", "FR") is None
    # a French number at 21:00 on a Monday is held to Tuesday 10:00, a Spanish one to 08:00
    now = local("Europe/Paris", 2024, 6, 10, 21, 0)
    tz = ZoneInfo("Europe/Paris")
    assert postpone_until(contact("+33612345678"), "sms", now, tz, None, BUILTIN) == (utc(2024, 6, 11, 8, 0), "send_window")
    assert postpone_until(contact("+34600111222"), "sms", now, tz, None, BUILTIN) == (utc(2024, 6, 11, 6, 0), "send_window")
    assert postpone_until(contact("+33612345678"), "email", now, tz, None, BUILTIN) is None


def test_the_shipped_file_is_the_builtin_default():
    """The shipped send windows are the built-in ones; its sender is the demo brand's (built in: none)."""
    shipped = load_sending_rules(ROOT / "journeys" / "sending.yaml")
    assert shipped.sender == "Northwind <hello@northwind.example>"
    assert dataclasses.replace(shipped, sender=None, reply_to=None) == BUILTIN


def test_validate_reports_a_bad_sending_file(tmp_path: Path):
    bad = tmp_path / "sending.yaml"
    bad.write_text('channels:\n  sms: {from: "21:00", to: "08:00"}\nregions:\n  fr: {sms: {from: "9", to: "10:00"}}\n')
    out = subprocess.run([sys.executable, "cli.py", "validate", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f'{bad}:4:3: regions: name "fr" is invalid' in out.stdout
    bad.write_text('channels:\n  sms: {from: "21:00", to: "08:00"}\n')
    out = subprocess.run([sys.executable, "cli.py", "validate", str(bad)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1
    assert f'{bad}:2:28: channels.sms: "to" (08:00) must be after "from" (21:00)' in out.stdout


def _zone_where_it_is_late(now: datetime) -> str:
    """A fixed-offset zone where `now` is 23:xx local (Etc/GMT-N is UTC+N)."""
    offset = (23 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@pytest.mark.asyncio
async def test_an_sms_at_night_is_postponed_to_the_window_and_then_sent():
    async with Simulation() as sim:
        assert sim.env is not None
        now = await sim.env.get_current_time()
        tz = _zone_where_it_is_late(now)
        j = journey(ir.SendSms(id="hello", template="hello"), smses=["hello"], timezone="UTC")
        person = {"phone": "+34600111222", "timezone": tz, "consent": {"sms": ["marketing"]}}
        out = await sim.run(j, person)
    expected = allowed_at(now, ZoneInfo(tz), None, SMS)
    assert expected is not None
    postponed = [e for e in out.result.trail if e["outcome"] == "postponed"]
    assert postponed and postponed[0]["reason"] == "send_window"
    assert datetime.fromisoformat(postponed[0]["until"]) == expected[0]
    assert len(out.sms) == 1
    sent_at = datetime.fromisoformat(out.result.trail[-1]["at"])
    assert out.result.trail[-1]["outcome"] == "sent"
    assert expected[0] <= sent_at < expected[0] + timedelta(minutes=2)
    assert sent_at.astimezone(ZoneInfo(tz)).hour == 8
