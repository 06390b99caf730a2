"""`merge_correction`: a follow-up message that changes half of an earlier request keeps the other half.

"mejor el sábado" changes the day and keeps the time; "no, a las 7" changes the time and keeps the
day; "a la misma hora" keeps the earlier time; "otro día" drops the day and asks for one. The day of
the result is always one the client said, in this message or the earlier one: never invented.
"""

from __future__ import annotations

from datetime import time
from typing import Optional, Tuple

from rasa_project.dates.clock import fits_part
from rasa_project.dates.when import When

__all__ = ["merge_correction"]


def merge_correction(previous: When, correction: When) -> When:
    """`previous` with what `correction` changes: its day if it names one, its time if it names one."""
    if correction.is_empty:
        return previous
    days = correction if correction.day_mentioned else previous
    keeps_time = not correction.time_mentioned or (correction.same_time and not correction.times)
    times_from = previous if keeps_time else correction
    times, part = (previous.times, previous.part_of_day) if keeps_time else _new_times(previous, correction)
    unresolved_same_time = (correction.same_time or keeps_time and previous.same_time) and not (times or part)
    return When(
        tz=correction.tz,
        day=days.day,
        day_mentioned=days.day_mentioned,
        day_range=days.day_range,
        time=times[0] if times else None,
        times=times,
        time_mentioned=times_from.time_mentioned,
        part_of_day=part,
        same_time=unresolved_same_time,
        other_day=_asks_for_a_day(days) or (_asks_for_a_time(times_from) and not times and part is None),
    )


def _new_times(previous: When, correction: When) -> Tuple[Tuple[time, ...], Optional[str]]:
    """The time half of `correction`; a bare part of day ("mejor en la tarde") keeps the earlier
    readings that fit it ("a las 7" then "de la tarde" is 19:00) and otherwise replaces them."""
    if correction.times or correction.part_of_day is None:
        return correction.times, correction.part_of_day
    fitting = tuple(moment for moment in previous.times if fits_part(moment, correction.part_of_day))
    return (fitting, None) if fitting else ((), correction.part_of_day)


def _asks_for_a_day(when: When) -> bool:
    return when.other_day and when.unclear_day


def _asks_for_a_time(when: When) -> bool:
    return when.other_day and when.time_mentioned and not when.times and when.part_of_day is None
