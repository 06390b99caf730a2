"""Calendar arithmetic for the day readers: pure functions of `today`, the date in the business zone.

Nothing here reads the machine's clock or locale, so a reading depends only on the message time.
Every function returns a day that is not before today, or None when the words name no such day
(already past, impossible like 31/02, or too far ahead to be a booking): the caller then asks.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Optional, Tuple

__all__ = [
    "day_and_month",
    "day_in_next_week",
    "day_in_this_week",
    "day_in_month",
    "day_of_month",
    "days_from",
    "next_week",
    "next_weekday",
    "this_week",
    "this_weekday",
    "weekend",
]

_SATURDAY, _SUNDAY = 5, 6
_MONTHS_AHEAD = 2  # "el 31" said on 26 November is 31 December; further than that is not what was meant
_YEARS_AHEAD = 2

DayRange = Tuple[date, date]


def days_from(today: date, days: int) -> Optional[date]:
    """`today` plus `days`, or None for a day already gone ("ayer")."""
    return today + timedelta(days=days) if days >= 0 else None


def next_weekday(today: date, weekday: int) -> date:
    """The first `weekday` after today: "el jueves" said on a Thursday is next week's Thursday."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def this_weekday(today: date, weekday: int) -> date:
    """The nearest `weekday` from today on: "este jueves" (or "hoy jueves") on a Thursday is today."""
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def day_in_next_week(today: date, weekday: int) -> date:
    """`weekday` of next calendar week (weeks start on Monday): "el martes de la semana que viene"."""
    return _monday(today) + timedelta(days=7 + weekday)


def day_in_this_week(today: date, weekday: int) -> Optional[date]:
    """`weekday` of this calendar week, None if it is already past: "el martes de esta semana"."""
    day = _monday(today) + timedelta(days=weekday)
    return day if day >= today else None


def next_week(today: date) -> DayRange:
    """Monday to Sunday of next week: "la semana que viene"."""
    monday = _monday(today) + timedelta(days=7)
    return monday, monday + timedelta(days=6)


def this_week(today: date) -> DayRange:
    """Today to Sunday: "esta semana"."""
    return today, _monday(today) + timedelta(days=6)


def weekend(today: date, following: bool) -> DayRange:
    """The weekend in course or the coming one ("el finde"; on a Sunday just today), or with `following`
    the one after the weekend in course ("el finde que viene" said on a Saturday is next week's)."""
    saturday = _monday(today) + timedelta(days=_SATURDAY)
    sunday = _monday(today) + timedelta(days=_SUNDAY)
    if following and today.weekday() >= _SATURDAY:
        return saturday + timedelta(days=7), sunday + timedelta(days=7)
    return max(saturday, today), sunday


def day_of_month(today: date, day: int) -> Optional[date]:
    """The next date numbered `day` from today on: "el 3" on 26 November is 3 December."""
    year, month = today.year, today.month
    for _ in range(_MONTHS_AHEAD + 1):
        candidate = _date_or_none(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def day_in_month(today: date, day: int, months_ahead: int) -> Optional[date]:
    """Day `day` of this month (0) or of the next (1): "el 15 del mes que viene"; None if past or impossible."""
    year, month = divmod(today.year * 12 + today.month - 1 + months_ahead, 12)
    candidate = _date_or_none(year, month + 1, day)
    return candidate if candidate is not None and candidate >= today else None


def day_and_month(today: date, day: int, month: int, year: Optional[int] = None) -> Optional[date]:
    """Day `day` of `month` ("15 de diciembre", "15/12"): this year's, or next year's once it is past;
    with a year, exactly that day. None when impossible ("31/02"), past ("15/12/2020") or years away."""
    if year is not None:
        candidate = _date_or_none(year, month, day)
        too_far = candidate is not None and candidate.year > today.year + _YEARS_AHEAD
        return candidate if candidate is not None and candidate >= today and not too_far else None
    for candidate_year in (today.year, today.year + 1):
        candidate = _date_or_none(candidate_year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _date_or_none(year: int, month: int, day: int) -> Optional[date]:
    try:
        return date(year, month, day)
    except ValueError:
        return None
