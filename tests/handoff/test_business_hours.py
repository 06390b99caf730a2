"""Business hours: the format, and open / next opening against a brute-force minute-by-minute oracle
over whole weeks, in a zone without DST and in Europe/Madrid across both DST changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import pytest

from rasa_project.business_hours import BusinessHours, parse_hours
from rasa_project.settings import Settings

DEFAULT = "lun-vie 09:00-20:00, sab 09:00-14:00"
MX, MADRID = "America/Mexico_City", "Europe/Madrid"


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc, arg-type]


@pytest.mark.parametrize("text, expected", [
    (DEFAULT, {d: ((540, 1200),) for d in range(5)} | {5: ((540, 840),)}),
    ("Lun-Vie 9-20, Sáb 9:00-14:00", {d: ((540, 1200),) for d in range(5)} | {5: ((540, 840),)}),
    ("lunes 09:00-14:00 16:00-20:00", {0: ((540, 840), (960, 1200))}),
    ("lun-vie 09:00-14:00, 16:00-20:00", {d: ((540, 840), (960, 1200)) for d in range(5)}),
    ("lun, mié 10:00-12:00", {0: ((600, 720),), 2: ((600, 720),)}),
    ("vie-lun 10:00-12:00", {4: ((600, 720),), 5: ((600, 720),), 6: ((600, 720),), 0: ((600, 720),)}),
    ("dom 00:00-24:00", {6: ((0, 1440),)}),
    ("MIERCOLES 08:30 - 09:15; jueves 8-9", {2: ((510, 555),), 3: ((480, 540),)}),
    ("lun 09:00-12:00 11:00-13:00", {0: ((540, 780),)}),
    ("", {}),
])
def test_the_format(text: str, expected: dict) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize("text, names", [
    ("lun-vie 09:00-20:00, sab", "sab"),
    ("09:00-20:00", "09:00-20:00"),
    ("lunes 20:00-09:00", "20:00-09:00"),
    ("lun 09:00-25:00", "09:00-25:00"),
    ("lun 09:61-10:00", "09:61-10:00"),
    ("lux 09:00-10:00", "lux"),
    ("lun-vie 9a-20", "9a-20"),
])
def test_malformed_values_name_the_bad_part(text: str, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        parse_hours(text)


def test_bad_holidays_and_zone_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match="2024-13-01"):
        BusinessHours.from_settings(Settings(business_holidays=("2024-12-25", "2024-13-01")))
    with pytest.raises(ValueError, match="Mars/Olympus"):
        BusinessHours.from_settings(Settings(business_timezone="Mars/Olympus"))


def oracle_open(hours: BusinessHours, moment: datetime) -> bool:
    local = moment.astimezone(hours.zone)
    if local.date() in hours.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(s <= minute < e for s, e in hours.schedule.get(local.weekday(), ()))


def oracle_timeline(hours: BusinessHours, start: datetime, days: int) -> list:
    """For each minute from `start`: the minute index of the next open minute (itself when open), or None."""
    flags = [oracle_open(hours, start + timedelta(minutes=m)) for m in range(days * 24 * 60)]
    nexts: list = [None] * len(flags)
    upcoming = None
    for index in range(len(flags) - 1, -1, -1):
        if flags[index]:
            upcoming = index
        nexts[index] = upcoming
    return nexts


CASES = [
    (MX, DEFAULT, (), date(2024, 12, 2)),  # no DST since 2022
    (MADRID, DEFAULT, (), date(2024, 3, 25)),  # the week after 31 March (spring forward) ...
    (MADRID, "lun-dom 01:00-04:00", (), date(2024, 3, 28)),  # ... hours that DST skips / repeats
    (MADRID, "lun-dom 01:00-04:00", (), date(2024, 10, 24)),
    (MADRID, "vie-lun 10:00-12:00 17:00-18:30", ("2024-12-06", "2024-12-09"), date(2024, 12, 2)),
    ("UTC", "sab 10:00-11:00", ("2024-12-07", "2024-12-14"), date(2024, 12, 2)),
]


@pytest.mark.parametrize("zone, text, holidays, monday", CASES)
def test_open_and_next_opening_match_the_oracle_every_37_minutes_for_two_weeks(
        zone: str, text: str, holidays: tuple, monday: date) -> None:
    hours = BusinessHours.parse(text, holidays, zone)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=timezone.utc) - timedelta(days=1)
    timeline = oracle_timeline(hours, start, 35)
    checked = 0
    for step in range(0, 14 * 24 * 60, 37):  # ~545 moments per case, every minute of the hour in turn
        moment = start + timedelta(minutes=step, seconds=13)
        assert hours.is_open(moment) == oracle_open(hours, moment), moment
        index = timeline[step]
        got = hours.next_opening(moment)
        if index is None:
            assert got is None or got >= start + timedelta(days=35)
        else:
            expected = moment if index == step else start + timedelta(minutes=index)
            assert got is not None and abs((got - expected).total_seconds()) < 1, (moment, got, expected)
            assert got >= moment and hours.is_open(got)
        checked += 1
    assert checked > 500


@pytest.mark.parametrize("moment, is_open, opening", [
    (at(MX, 2024, 12, 2, 8, 59), False, at(MX, 2024, 12, 2, 9, 0)),  # Monday, a minute before
    (at(MX, 2024, 12, 2, 9, 0), True, at(MX, 2024, 12, 2, 9, 0)),
    (at(MX, 2024, 12, 2, 19, 59), True, at(MX, 2024, 12, 2, 19, 59)),
    (at(MX, 2024, 12, 2, 20, 0), False, at(MX, 2024, 12, 3, 9, 0)),  # the end is exclusive
    (at(MX, 2024, 12, 7, 14, 0), False, at(MX, 2024, 12, 9, 9, 0)),  # Saturday afternoon → Monday
    (at(MX, 2024, 12, 8, 23, 59), False, at(MX, 2024, 12, 9, 9, 0)),  # week wrap
    (datetime(2024, 12, 2, 15, 0), True, None),  # naive = UTC: 09:00 in Mexico City
])
def test_boundaries(moment: datetime, is_open: bool, opening: Optional[datetime]) -> None:
    hours = BusinessHours.parse(DEFAULT, (), MX)
    assert hours.is_open(moment) is is_open
    if opening is not None:
        assert hours.next_opening(moment) == opening


def test_holidays_close_the_whole_day_and_push_the_opening() -> None:
    hours = BusinessHours.parse(DEFAULT, ("2024-12-24", "2024-12-25"), MX)
    assert not hours.is_open(at(MX, 2024, 12, 24, 12, 0))
    assert hours.next_opening(at(MX, 2024, 12, 23, 21, 0)) == at(MX, 2024, 12, 26, 9, 0)


def test_madrid_keeps_the_wall_clock_across_dst() -> None:
    hours = BusinessHours.parse(DEFAULT, (), MADRID)
    before = hours.next_opening(at(MADRID, 2024, 3, 30, 15, 0))  # Saturday → Monday, over the change
    assert before == at(MADRID, 2024, 4, 1, 9, 0) and before.utcoffset() == timedelta(hours=2)
    assert hours.is_open(datetime(2024, 4, 1, 7, 0, tzinfo=timezone.utc))  # 09:00 CEST
    assert not hours.is_open(datetime(2024, 3, 25, 7, 0, tzinfo=timezone.utc))  # 08:00 CET


def test_empty_schedule_is_always_open_and_a_year_of_holidays_never_opens() -> None:
    assert BusinessHours.parse("", (), MX).is_open(at(MX, 2024, 12, 25, 3, 0))
    every_day = tuple((date(2024, 1, 1) + timedelta(days=n)).isoformat() for n in range(420))
    assert BusinessHours.parse(DEFAULT, every_day, MX).next_opening(at(MX, 2024, 1, 1, 0, 0)) is None
