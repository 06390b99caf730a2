"""`When`: what one message says about a moment, with every part allowed to be missing.

The booking flow must never book a day the client did not say. So the result keeps apart what the
text *named* (`day_mentioned`, `time_mentioned`) from what was *understood* (`day`, `times`): a day
that was named but not understood is a question for the client (`unclear_day`), never a default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Tuple
from zoneinfo import ZoneInfo

__all__ = ["When"]


@dataclass(frozen=True, kw_only=True)
class When:
    """What a message says about a moment. Any part may be missing.

    - `day`: the day understood, never before today in the business zone.
    - `time` / `times`: every reading of the hour, preferred first ("a las 7" is 07:00 or 19:00; the
      studio is closed before 07:00, so "a las 6" is only 18:00); `time` is the first one.
    - `day_mentioned` / `time_mentioned`: the text names a day / a time of day, understood or not.
    - `part_of_day`: "manana" | "tarde" | "noche" | "temprano" when only a range of hours was given.
    - `day_range`: a span of days ("el finde", "la semana que viene") when no single day was given.
    - `same_time`: "a la misma hora"; `other_day`: "otro día" / "otro horario" without saying which,
      or a day or hour the client refused ("mañana no puedo"): ask for another.
    """

    tz: str
    day: Optional[dt.date] = None
    time: Optional[dt.time] = None
    times: Tuple[dt.time, ...] = ()
    day_mentioned: bool = False
    time_mentioned: bool = False
    part_of_day: Optional[str] = None
    day_range: Optional[Tuple[dt.date, dt.date]] = None
    same_time: bool = False
    other_day: bool = False

    def __post_init__(self) -> None:
        # `time` is a shorthand for the first reading; letting them drift apart would let two callers
        # book two different hours from one message.
        expected = self.times[0] if self.times else None
        if self.time != expected:
            raise ValueError(f"When.time must be the first of `times` ({expected}), got {self.time}")
        if self.day is not None and not self.day_mentioned:
            raise ValueError("a When with a day must have day_mentioned=True")

    def at(self) -> Optional[dt.datetime]:
        """The aware datetime in the business zone, or None until both the day and the time are known."""
        if self.day is None or self.time is None:
            return None
        return dt.datetime.combine(self.day, self.time, tzinfo=ZoneInfo(self.tz))

    @property
    def unclear_day(self) -> bool:
        """A day was named but not understood (or it is already past): ask which day, never default one."""
        return self.day_mentioned and self.day is None and self.day_range is None

    @property
    def is_empty(self) -> bool:
        """Nothing about a moment at all: the caller may use its own default (e.g. list the next days)."""
        return not (self.day_mentioned or self.time_mentioned or self.part_of_day or self.same_time or self.other_day)
