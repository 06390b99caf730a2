"""When the team answers: `BUSINESS_HOURS` and `BUSINESS_HOLIDAYS` in `BUSINESS_TIMEZONE`.

Format (docs/handoff.md): groups of days followed by one or more time ranges, groups separated by commas,
e.g. "lun-vie 09:00-14:00 16:00-20:00, sab 09:00-14:00". Days are lun mar mie jue vie sab dom or their
full names, accents and case optional ("Sáb", "miércoles"); a day range wraps the week ("vie-lun");
several days can be listed ("lun, mie 10:00-12:00"). Times are H, H:MM or HH:MM, end after start ("24:00"
ends at midnight); a range never crosses midnight (write two). Holidays are ISO dates, closed all day.
An empty schedule means always open. A malformed value raises `ValueError` naming the bad part, at
start-up (`BusinessHours.from_settings`), never while a client waits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rasa_project.settings import Settings
from rasa_project.spanish_text import WEEKDAYS, fold

Minutes = Tuple[int, int]  # [start, end) in minutes after midnight

DAY_NAMES: Dict[str, int] = {**WEEKDAYS, **{name[:3]: day for name, day in WEEKDAYS.items()}}
_TIME = r"(\d{1,2})(?::(\d{2}))?"
_RANGE = re.compile(rf"^{_TIME}-{_TIME}$")
_DAYS = re.compile(r"^([a-z]+)(?:-([a-z]+))?$")
_SEARCH_DAYS = 400  # a year of holidays plus a week


def _minutes(hours: str, minutes: Optional[str], part: str) -> int:
    value = int(hours) * 60 + int(minutes or 0)
    if int(minutes or 0) > 59 or value > 24 * 60:
        raise ValueError(f"business hours: {part!r} is not a time of day")
    return value


def _day(name: str, part: str) -> int:
    if name not in DAY_NAMES:
        raise ValueError(f"business hours: {part!r} is not a day (lun mar mie jue vie sab dom)")
    return DAY_NAMES[name]


def _days(token: str) -> List[int]:
    match = _DAYS.match(token)
    if not match:
        raise ValueError(f"business hours: {token!r} is neither days nor a time range")
    first = _day(match.group(1), token)
    last = _day(match.group(2), token) if match.group(2) else first
    return [(first + offset) % 7 for offset in range((last - first) % 7 + 1)]


def parse_hours(text: str) -> Dict[int, Tuple[Minutes, ...]]:
    """`"lun-vie 09:00-20:00, sab 09:00-14:00"` → {weekday: ((start, end), ...)} (Monday = 0)."""
    tokens = [t for t in re.split(r"[\s,;]+", fold(text).replace("–", "-").replace(" - ", "-")) if t]
    schedule: Dict[int, List[Minutes]] = {}
    days: List[int] = []
    ranges_for_days = 0
    for token in tokens:
        match = _RANGE.match(token)
        if match is None:
            if ranges_for_days:  # a new group of days starts
                days, ranges_for_days = [], 0
            days.extend(_days(token))
            continue
        if not days:
            raise ValueError(f"business hours: the time range {token!r} has no days before it")
        start = _minutes(match.group(1), match.group(2), token)
        end = _minutes(match.group(3), match.group(4), token)
        if end <= start:
            raise ValueError(f"business hours: {token!r} ends before it starts (split a range at midnight)")
        for day in days:
            schedule.setdefault(day, []).append((start, end))
        ranges_for_days += 1
    if days and not ranges_for_days:
        raise ValueError(f"business hours: the days at the end of {text!r} have no time range")
    return {day: tuple(_merged(ranges)) for day, ranges in schedule.items()}


def _merged(ranges: Iterable[Minutes]) -> List[Minutes]:
    merged: List[Minutes] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def parse_holidays(values: Iterable[str]) -> FrozenSet[date]:
    days = set()
    for value in values:
        try:
            days.add(date.fromisoformat(value.strip()))
        except ValueError:
            raise ValueError(f"business holidays: {value!r} is not an ISO date (YYYY-MM-DD)") from None
    return frozenset(days)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"business timezone: {name!r} is not an IANA time zone") from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class BusinessHours:
    """The parsed schedule; `now` may be any aware datetime (naive means UTC)."""

    schedule: Dict[int, Tuple[Minutes, ...]]
    holidays: FrozenSet[date]
    zone: ZoneInfo

    @classmethod
    def parse(cls, hours: str, holidays: Iterable[str] = (), timezone_name: str = "UTC") -> BusinessHours:
        return cls(parse_hours(hours), parse_holidays(holidays), _zone(timezone_name))

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessHours:
        return cls.parse(settings.business_hours, settings.business_holidays, settings.business_timezone)

    @property
    def always_open(self) -> bool:
        return not self.schedule

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = _aware(now).astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return any(start <= minute < end for start, end in self.schedule.get(local.weekday(), ()))

    def next_opening(self, now: datetime) -> Optional[datetime]:
        """The next moment the team answers, in the business zone: `now` itself when open; None when the
        schedule has no opening in the next year (every day a holiday)."""
        now = _aware(now)
        if self.is_open(now):
            return now.astimezone(self.zone)
        today = now.astimezone(self.zone).date()
        for offset in range(_SEARCH_DAYS):
            day = today + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _ in self.schedule.get(day.weekday(), ()):
                opening = self._local(day, start)
                if opening > now:
                    return opening
        return None

    def _local(self, day: date, minute: int) -> datetime:
        """`day` at `minute` in the zone; a wall time skipped by DST is moved past the gap."""
        if minute >= 24 * 60:
            day, minute = day + timedelta(days=1), 0
        naive = datetime.combine(day, time(minute // 60, minute % 60))
        local = naive.replace(tzinfo=self.zone)
        return local.astimezone(timezone.utc).astimezone(self.zone)
