"""When a reminder is due: `REMINDER_OFFSETS` ("24h,2h") parsed, and each offset applied to a start time.

An offset is a number and a unit: `m` minutes, `h` hours, `d` days ("90m", "2h", "1d"). An offset of whole
days ("24h", "48h", "1d") is counted on the business zone's calendar: the same wall-clock time that many
days before, also across a daylight-saving change (a 10:00 class is reminded at 10:00 the day before, not
at 09:00 or 11:00). Any other offset is an exact duration. Due times are returned as naive UTC, like
every time in our tables.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable, Tuple
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
_OFFSET = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": MINUTES_PER_DAY}


class InvalidOffset(ValueError):
    """A REMINDER_OFFSETS entry that is not `<number><m|h|d>` (or is zero)."""


def parse_offset(text: str) -> int:
    """`"24h"` → 1440 (minutes before the start)."""
    match = _OFFSET.match(text)
    if not match:
        raise InvalidOffset(f"reminder offset {text!r}: expected a number and m, h or d (e.g. 24h, 90m, 1d)")
    minutes = int(match.group(1)) * _UNIT_MINUTES[match.group(2).lower()]
    if minutes <= 0:
        raise InvalidOffset(f"reminder offset {text!r} must be more than zero")
    return minutes


def parse_offsets(entries: Iterable[str]) -> Tuple[int, ...]:
    """Every offset in minutes, largest (earliest reminder) first, duplicates ("24h", "1d") once."""
    return tuple(sorted({parse_offset(entry) for entry in entries if entry.strip()}, reverse=True))


def to_naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment  # already naive UTC (our tables)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def due_at(starts_at: datetime, offset_minutes: int, zone: ZoneInfo) -> datetime:
    """The naive-UTC time a reminder `offset_minutes` before `starts_at` (aware, or naive UTC) is due."""
    aware = starts_at if starts_at.tzinfo is not None else starts_at.replace(tzinfo=timezone.utc)
    if offset_minutes % MINUTES_PER_DAY == 0:
        wall = aware.astimezone(zone).replace(tzinfo=None) - timedelta(days=offset_minutes // MINUTES_PER_DAY)
        return to_naive_utc(wall.replace(tzinfo=zone))
    return to_naive_utc(aware - timedelta(minutes=offset_minutes))


def horizon_days(offsets: Iterable[int]) -> int:
    """Days after today the sync must read so every booking is known before its earliest reminder is due."""
    largest = max(offsets, default=0)
    return -(-largest // MINUTES_PER_DAY) + 1
