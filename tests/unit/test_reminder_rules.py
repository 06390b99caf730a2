"""Reminder offsets, due times in the business zone, and the rules that decide whether one goes out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from rasa_project.reminders.offsets import InvalidOffset, due_at, horizon_days, parse_offset, parse_offsets
from rasa_project.reminders.rules import plan_state, skip_reason
from rasa_project.settings import Settings

MX = ZoneInfo("America/Mexico_City")
NY = ZoneInfo("America/New_York")  # has daylight saving time (Mexico City does not since 2022)
NOW = datetime(2026, 12, 2, 15, 0)  # naive UTC


@pytest.mark.parametrize("text, minutes", [("24h", 1440), ("2h", 120), ("90m", 90), ("1d", 1440),
                                           (" 3D ", 4320), ("45M", 45)])
def test_offsets_parse_to_minutes(text: str, minutes: int) -> None:
    assert parse_offset(text) == minutes


@pytest.mark.parametrize("text", ["", "24", "h", "2x", "-2h", "0h", "1.5h", "2 hours"])
def test_bad_offsets_are_refused(text: str) -> None:
    with pytest.raises(InvalidOffset):
        parse_offset(text)


def test_the_default_offsets_are_largest_first_without_duplicates() -> None:
    assert parse_offsets(Settings().reminder_offsets) == (1440, 120)
    assert parse_offsets(["2h", "1d", "24h", ""]) == (1440, 120)
    assert horizon_days((1440, 120)) == 2 and horizon_days((120,)) == 2 and horizon_days((2880,)) == 3


def test_hours_are_exact_durations() -> None:
    starts = datetime(2026, 12, 3, 10, 0, tzinfo=MX)  # 16:00 UTC
    assert due_at(starts, 120, MX) == datetime(2026, 12, 3, 14, 0)
    assert due_at(starts, 1440, MX) == datetime(2026, 12, 2, 16, 0)
    assert due_at(datetime(2026, 12, 3, 16, 0), 90, MX) == datetime(2026, 12, 3, 14, 30)  # naive = UTC


def test_whole_days_keep_the_wall_clock_time_across_daylight_saving() -> None:
    # New York leaves DST on 2026-11-01 at 02:00: a 10:00 class on Nov 1 is reminded at 10:00 on Oct 31,
    # 25 hours before (an exact 24 h would be 11:00 on Oct 31)
    starts = datetime(2026, 11, 1, 10, 0, tzinfo=NY)  # 15:00 UTC (EST)
    due = due_at(starts, 1440, NY)
    assert due == datetime(2026, 10, 31, 14, 0)  # 10:00 EDT
    assert due.replace(tzinfo=timezone.utc).astimezone(NY).hour == 10
    assert due_at(starts, 120, NY) == datetime(2026, 11, 1, 13, 0)  # 2 exact hours


def test_plan_state_pending_ahead_and_missed_reminders_only_while_useful() -> None:
    starts = NOW + timedelta(hours=5)
    assert plan_state(NOW + timedelta(hours=1), starts, NOW - timedelta(days=2), NOW, 60) == ("pending", None)
    # missed (booked before its due time, class 5 h away): still sent
    assert plan_state(NOW - timedelta(hours=1), starts, NOW - timedelta(days=2), NOW, 60) == ("pending", None)
    # due before the client even booked: they just booked, no "tomorrow you have a class"
    assert plan_state(NOW - timedelta(hours=1), starts, NOW - timedelta(minutes=5), NOW, 60) == \
        ("skipped", "too_late")
    # the class starts within the minimum lead
    assert plan_state(NOW - timedelta(hours=1), NOW + timedelta(minutes=45), NOW - timedelta(days=2), NOW, 60) == \
        ("skipped", "too_late")


def test_skip_reasons_in_order() -> None:
    later = NOW + timedelta(hours=3)
    assert skip_reason(later, NOW, 60) is None
    assert skip_reason(NOW + timedelta(minutes=59), NOW, 60) == "too_late"
    assert skip_reason(NOW + timedelta(minutes=60), NOW, 60) == "too_late"
    assert skip_reason(NOW + timedelta(minutes=61), NOW, 60) is None
    assert skip_reason(later, NOW, 60, opted_out=True, undeliverable=True) == "opted_out"
    assert skip_reason(later, NOW, 60, undeliverable=True) == "undeliverable"
    assert skip_reason(later, NOW, 60, superseded=True) == "superseded"
    assert skip_reason(NOW, NOW, 60, superseded=True) == "too_late"
