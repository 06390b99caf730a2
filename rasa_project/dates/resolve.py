"""Putting the findings of one message together into a `When`: right, or a question.

- Days: every day named must be the same day. "mañana viernes" (when tomorrow is Friday) is one
  day; "el viernes o el sábado", "hoy no, mañana", or any day not understood ("ayer", "31/02") is a
  question: `day` None with `day_mentioned`. A single day inside a named range ("el finde, el
  sábado") is that day.
- Times: the readings of every hour, in text order; a part of day said apart ("en la mañana ... a
  las 8") settles an unmarked hour; on today, readings already past are dropped while a later one
  remains ("hoy a las 7" said at 10:00 is 19:00).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import List, Optional, Sequence, Tuple

from rasa_project.dates.clock import readings
from rasa_project.dates.findings import DayFinding, Finding, TimeFinding
from rasa_project.dates.when import When

__all__ = ["resolve"]

DayRange = Tuple[date, date]


def resolve(findings: Sequence[Finding], local_now: datetime, tz: str) -> When:
    """The `When` of a message whose findings are `findings`, read at `local_now` (business zone)."""
    days = [f for f in findings if isinstance(f, DayFinding)]
    times = [f for f in findings if isinstance(f, TimeFinding)]
    hours = [f for f in times if f.hour is not None]
    parts = [f.part for f in times if f.hour is None and f.part is not None]
    day, day_range = _one_day(days, has_hour=bool(hours))
    part = parts[0] if parts else None
    found = _readings(hours, part)
    if day is not None and day == local_now.date():
        found = _not_yet_past(found, local_now.time().replace(tzinfo=None))
    named_day = day is not None or day_range is not None
    asks_other_day = any(f.other_day for f in days) and not named_day
    asks_other_time = any(f.other_time for f in times) and not found and part is None
    return When(
        tz=tz,
        day=day,
        time=found[0] if found else None,
        times=found,
        day_mentioned=bool(days),
        time_mentioned=bool(hours) or part is not None or any(f.other_time or f.vague for f in times),
        part_of_day=None if found else part,
        day_range=day_range,
        same_time=any(f.same_time for f in times),
        other_day=asks_other_day or asks_other_time,
    )


def _one_day(days: List[DayFinding], has_hour: bool) -> Tuple[Optional[date], Optional[DayRange]]:
    specific: List[date] = []
    ranges: List[DayRange] = []
    if any(not finding.maybe for finding in days):
        days = [finding for finding in days if not finding.maybe]
    for finding in days:
        if finding.other_day:
            continue
        if finding.day_range is not None:
            ranges.append(finding.day_range)
        elif finding.day is None or finding.maybe or (finding.needs_hour_elsewhere and not has_hour):
            return None, None  # named but not understood: a question, whatever else was said
        else:
            specific.append(finding.day)
    if len(set(specific)) > 1 or len(set(ranges)) > 1:
        return None, None
    if specific:
        day = specific[0]
        inside = all(first <= day <= last for first, last in ranges)
        return (day, None) if inside else (None, None)
    return None, (ranges[0] if ranges else None)


def _readings(hours: List[TimeFinding], part: Optional[str]) -> Tuple[time, ...]:
    found: List[time] = []
    for hour in hours:
        assert hour.hour is not None
        options = readings(hour.hour, hour.minute, hour.suffix, hour.part)
        if part is not None and not hour.marked:
            options = readings(hour.hour, hour.minute, hour.suffix, part) or options
        found.extend(option for option in options if option not in found)
    return tuple(found)


def _not_yet_past(found: Tuple[time, ...], now: time) -> Tuple[time, ...]:
    later = tuple(option for option in found if option >= now)
    return later if later else found
