"""The readings of an hour as written: "a las 7" is 07:00 or 19:00, "a las 6" only 18:00, "7pm" 19:00.

Clients rarely say am/pm. Rather than guess one reading, every reading the studio could mean is
kept, preferred first, and the booking flow matches them against real slots or asks. The studio
opens at 07:00 and closes at 21:00, so an unmarked 1-6 can only be the afternoon, and an unmarked
7-9 has an evening twin (19:00-21:00) while 10 and 11 do not (22:00 and 23:00 are closed).
"""

from __future__ import annotations

from datetime import time
from typing import Optional, Tuple

__all__ = ["CLOSING", "OPENING", "fits_part", "readings"]

OPENING = time(7, 0)
CLOSING = time(21, 0)
_MORNING_PARTS = ("manana", "temprano")


def readings(hour: int, minute: int, suffix: str = "", part: Optional[str] = None) -> Tuple[time, ...]:
    """Every time `hour`:`minute` can mean given its suffix ("am", "pm", "h") or part of day; () if none."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return ()
    if suffix in ("am", "pm"):
        return _meridiem(hour, minute, suffix)
    if part is not None:
        return _with_part(hour, minute, part)
    if hour == 0 or hour >= 12:
        return (time(hour, minute),)
    if time(hour, minute) < OPENING:
        return (time(hour + 12, minute),)
    evening = time(hour + 12, minute)
    return (time(hour, minute), evening) if evening <= CLOSING else (time(hour, minute),)


def _meridiem(hour: int, minute: int, suffix: str) -> Tuple[time, ...]:
    if hour > 12:  # "19pm" says 19:00 twice; "19am" says nothing
        return (time(hour, minute),) if suffix == "pm" else ()
    if suffix == "am":
        return (time(0 if hour == 12 else hour, minute),)
    return (time(12 if hour == 12 else hour + 12, minute),)


def _with_part(hour: int, minute: int, part: str) -> Tuple[time, ...]:
    """'9 de la mañana' 09:00, '7 de la tarde' 19:00, '12 de la noche' 00:00, '19 de la mañana' nothing."""
    if part in _MORNING_PARTS:
        return (time(hour, minute),) if hour <= 12 else ()
    if hour == 12:
        return (time(0 if part == "noche" else 12, minute),)
    if 1 <= hour < 12:
        return (time(hour + 12, minute),)
    return (time(hour, minute),) if hour >= 13 else ()


# The hours each part of day covers, for telling whether a reading fits "por la tarde".
_PART_HOURS = {
    "manana": (time(0, 0), time(11, 59)),
    "temprano": (time(0, 0), time(11, 59)),
    "tarde": (time(12, 0), time(20, 0)),
    "noche": (time(19, 0), time(23, 59)),
}


def fits_part(moment: time, part: str) -> bool:
    """Whether `moment` lies in the part of day `part` (19:00 is "tarde" and "noche", not "manana")."""
    start, end = _PART_HOURS.get(part, (time(0, 0), time(23, 59)))
    return start <= moment <= end
