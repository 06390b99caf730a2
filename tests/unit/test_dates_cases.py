"""Every case of the old `spanish_dates` tests, against `understand_when`, with the same expectations.

Message time: Thursday 2026-11-26 10:00 in Mexico City. Where the old parser returned None, the new
one returns a `When` without day and time; where the old one returned a time only, the new one has
no day and that time as its first reading.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from rasa_project.dates import When, understand_when

TZ = "America/Mexico_City"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))  # a Thursday


def _read(text: str, now: datetime = NOW) -> When:
    return understand_when(text, now, TZ)


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("mañana a las 6", date(2026, 11, 27), time(18, 0)),
        ("el próximo jueves", date(2026, 12, 3), None),
        ("el proximo jueves a las 7:30", date(2026, 12, 3), time(7, 30)),
        ("15 de diciembre", date(2026, 12, 15), None),
        ("15/12", date(2026, 12, 15), None),
        ("pasado mañana", date(2026, 11, 28), None),
        ("hoy 7pm", date(2026, 11, 26), time(19, 0)),
        ("el lunes 3 a las 9", date(2026, 12, 3), time(9, 0)),  # the day number wins over the weekday
        ("a las 18 hs", None, time(18, 0)),
        ("mañana", date(2026, 11, 27), None),
        ("el sábado en la mañana", date(2026, 11, 28), None),
        ("la semana que viene el martes", date(2026, 12, 1), None),
        ("el martes de la semana que viene", date(2026, 12, 1), None),
        ("mañna", date(2026, 11, 27), None),
        ("jueve", date(2026, 12, 3), None),
        ("el jueve a las 5", date(2026, 12, 3), time(17, 0)),
        ("sabdo 9am", date(2026, 11, 28), time(9, 0)),
        ("15 de diciembre a las 10", date(2026, 12, 15), time(10, 0)),
        ("miercoles 18hs", date(2026, 12, 2), time(18, 0)),
        ("el viernes 7.30pm", date(2026, 11, 27), time(19, 30)),
        ("¿el jueves a las 7?", date(2026, 12, 3), time(7, 0)),
        ("Mañana A LAS 5!!", date(2026, 11, 27), time(17, 0)),
        ("quiero reservar pilates el jueves a las 6", date(2026, 12, 3), time(18, 0)),
        ("mañana en la tarde", date(2026, 11, 27), None),
        ("el jueves al mediodía", date(2026, 12, 3), time(12, 0)),
        ("el 3", date(2026, 12, 3), None),
        ("mañana tipo 8", date(2026, 11, 27), time(8, 0)),
        ("mañana temprano", date(2026, 11, 27), None),
    ],
)
def test_day_and_time(text: str, day: date | None, at: time | None) -> None:
    when = _read(text)
    assert (when.day, when.time) == (day, at)
    assert not when.is_empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a las 6", time(18, 0)),  # 1-6 without a marker is afternoon: the studio opens at 07:00
        ("a las 6 de la mañana", time(6, 0)),
        ("6am", time(6, 0)),
        ("6 a.m.", time(6, 0)),
        ("7 de la tarde", time(19, 0)),
        ("para las 8 de la noche", time(20, 0)),
        ("a las seis y media", time(18, 30)),
        ("a la una", time(13, 0)),
        ("a las 10", time(10, 0)),
        ("a las 12", time(12, 0)),
        ("19:00", time(19, 0)),
        ("mediodía", time(12, 0)),
    ],
)
def test_time_only(text: str, expected: time) -> None:
    when = _read(text)
    assert when.day is None and not when.day_mentioned
    assert when.time == expected
    assert when.time_mentioned


def test_both_parts_give_an_aware_datetime_in_the_business_zone() -> None:
    assert _read("mañana a las 6 de la mañana").at() == datetime(2026, 11, 27, 6, 0, tzinfo=ZoneInfo(TZ))
    assert _read("mañana").at() is None
    assert _read("a las 6").at() is None


def test_weekday_already_past_this_week_is_next_week() -> None:
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo(TZ))
    assert _read("el jueves", friday).day == date(2026, 12, 3)


def test_date_already_past_this_year_is_next_year() -> None:
    late_december = datetime(2026, 12, 20, 10, 0, tzinfo=ZoneInfo(TZ))
    assert _read("15 de diciembre", late_december).day == date(2027, 12, 15)
    assert _read("15/12", late_december).day == date(2027, 12, 15)


def test_weekday_and_day_number_that_agree() -> None:
    tuesday = datetime(2026, 7, 28, 10, 0, tzinfo=ZoneInfo(TZ))
    assert _read("el lunes 3 a las 9", tuesday).at() == datetime(2026, 8, 3, 9, 0, tzinfo=ZoneInfo(TZ))


def test_next_week_on_a_monday_skips_this_weeks_day() -> None:
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo(TZ))
    assert _read("el martes", monday).day == date(2026, 12, 1)
    assert _read("el martes de la semana que viene", monday).day == date(2026, 12, 8)


def test_now_in_another_zone_is_read_in_the_business_zone() -> None:
    utc_now = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)  # still Thursday 21:00 in Mexico City
    assert _read("mañana", utc_now).day == date(2026, 11, 27)
    assert _read("hoy", utc_now).day == date(2026, 11, 26)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "hola", "la de yoga", "bono de 10", "10", "en la tarde", "diciembre", "ayer", "12/25", "👍"],
)
def test_no_day_or_time(text: str) -> None:
    when = _read(text)
    assert when.day is None and when.time is None


@pytest.mark.parametrize("text", ["", "   ", "hola", "la de yoga", "bono de 10", "10", "👍"])
def test_nothing_about_a_moment_is_empty(text: str) -> None:
    assert _read(text).is_empty


@pytest.mark.parametrize("text", ["diciembre", "ayer", "12/25"])
def test_a_day_named_but_not_understood_is_a_question(text: str) -> None:
    when = _read(text)
    assert when.unclear_day and when.day_mentioned


def test_a_part_of_day_alone_names_a_time_but_no_hour() -> None:
    when = _read("en la tarde")
    assert when.part_of_day == "tarde" and when.time_mentioned and not when.times


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        understand_when("mañana", datetime(2026, 11, 26, 10, 0), TZ)
