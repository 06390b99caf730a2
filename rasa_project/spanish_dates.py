"""Turn what a client types on WhatsApp ("mañana a las 6", "el jueve 7pm") into a day and a time.

Pure, no I/O. `dateparser` (Spanish, future dates, the message time as reference) resolves the day;
this module only normalizes what dateparser gets wrong or cannot read, found by probing 1.2.0:

- "mañana a las 6" comes back as tomorrow at the *current* time, and "15 de diciembre a las 10" as
  year 2110: so the time of day is taken out first (one small regex) and the day is parsed alone.
- A bare hour 1-6 is afternoon (studio hours 07:00-21:00): "a las 6" is 18:00 unless "am" or
  "de la mañana" says otherwise. "en la tarde" alone names no exact time.
- It fails on "el jueves", "el próximo jueves", "pasado mañana", "la semana que viene el martes"
  and typos ("mañna", "jueve"): filler words are dropped, typos snapped to the nearest date word,
  "pasado mañana" rewritten as "dentro de 2 días", and "next week" resolved by moving the reference
  to the end of the current week.
- A day of month alone ("3", "el lunes 3") comes back in the current month even when already past,
  and out-of-range guesses ("12/25" as year 2125) come back too: results are moved forward (month or
  year) or dropped, so a returned day is never before today.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List
from zoneinfo import ZoneInfo

import dateparser
from dateutil.relativedelta import relativedelta

__all__ = ["RequestedWhen", "parse_when"]

_WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
_MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
_RELATIVE = ("hoy", "manana", "pasado")
_NEXT_WEEK_MARKERS = ("viene", "proxima", "siguiente", "otra", "entrante")
# Only these words are snapped to on a typo, so ordinary words ("entero", "mates") are left alone.
_TYPO_TARGETS = _WEEKDAYS + _MONTHS + ("manana", "pasado", "semana", "mediodia", "proxima", "proximo")
_LONGEST_LOOKAHEAD_DAYS = 400

_NUMBER_WORDS = {
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
}
_NUM = r"(?:\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_TIME_RE = re.compile(
    r"(?:\b(?:las?|tipo)\s+(?P<h1>" + _NUM + r")(?:[:.h](?P<m1>\d{2}))?"  # a las 6 / para las 7:30 / tipo 8
    r"|\b(?P<h2>\d{1,2})(?:[:h]|\.(?=\d{2}\s*(?:am|pm|hs|hrs|h)\b))(?P<m2>\d{2})"  # 19:00 18h30 7.30pm
    r"|\b(?P<h3>" + _NUM + r")(?=\s*(?:am|pm|hs|hrs|h|de\s+la\s+(?:manana|tarde|noche))\b))"  # 7pm
    r"(?:\s+y\s+(?P<frac>media|cuarto))?"
    r"(?:\s*(?P<suf>am|pm|hs|hrs|h|horas)\b)?"
    r"(?:\s*(?:de|en|por)\s+la\s+(?P<part>manana|tarde|noche))?"
)
_DAY_PART_RE = re.compile(r"\b(?:en|por|de|a|para)\s+la\s+(?:manana|tarde|noche)\b|\b(?:al\s+)?mediodia\b")
_DAY_MONTH_RE = re.compile(r"^\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?$")


@dataclass(frozen=True)
class RequestedWhen:
    """A requested day and/or time of day, either part possibly missing; `tz` is the business zone."""

    day: date | None
    time: time | None
    tz: str

    def at(self) -> datetime | None:
        """The aware datetime in the business time zone, or None until both parts are known."""
        if self.day is None or self.time is None:
            return None
        return datetime.combine(self.day, self.time, tzinfo=ZoneInfo(self.tz))


def parse_when(text: str, now: datetime, tz: str) -> RequestedWhen | None:
    """Parse a Spanish day/time expression relative to `now` (aware); None when it names neither."""
    if now.tzinfo is None:
        raise ValueError("parse_when needs an aware `now` (the message time)")
    if not text or not text.strip():
        return None
    local_now = now.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    normalized = _normalize(text)
    requested_time, rest = _extract_time(normalized)
    requested_day = _extract_day(rest, local_now)
    if requested_day is None and requested_time is None:
        return None
    return RequestedWhen(day=requested_day, time=requested_time, tz=tz)


def _normalize(text: str) -> str:
    """Lower-case, drop accents and punctuation (keeping ':' '/' '-' '.' inside numbers), fix typos."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"\b([ap])\.?\s?m\b\.?", r"\1m", plain)  # a.m. / p. m. / pm
    plain = re.sub(r"(?<!\d)[.:/-]|[.:/-](?!\d)", " ", plain)
    plain = re.sub(r"[^\w:/.\-]+", " ", plain)
    plain = re.sub(r"(\d)(am|pm|hs|hrs|h)\b", r"\1 \2", plain)
    return " ".join(_fix_typo(word) for word in plain.split())


def _fix_typo(word: str) -> str:
    if len(word) < 5 or not word.isalpha() or word in _TYPO_TARGETS:
        return word
    close = difflib.get_close_matches(word, _TYPO_TARGETS, n=1, cutoff=0.85)
    return close[0] if close else word


def _extract_time(text: str) -> tuple[time | None, str]:
    """Take the first time of day out of `text`; return it (or None) and the text without it."""
    for match in _TIME_RE.finditer(text):
        resolved = _resolve_time(match)
        if resolved is not None:
            return resolved, _DAY_PART_RE.sub(" ", text[: match.start()] + " " + text[match.end() :])
    if re.search(r"\bmediodia\b", text):
        return time(12, 0), _DAY_PART_RE.sub(" ", text)
    return None, _DAY_PART_RE.sub(" ", text)


def _resolve_time(match: re.Match[str]) -> time | None:
    raw_hour = match.group("h1") or match.group("h2") or match.group("h3")
    hour = _NUMBER_WORDS[raw_hour] if raw_hour in _NUMBER_WORDS else int(raw_hour)
    minute_text = match.group("m1") or match.group("m2")
    fraction = {"media": 30, "cuarto": 15}.get(match.group("frac") or "", 0)
    minute = int(minute_text) if minute_text else fraction
    suffix, part = match.group("suf"), match.group("part")
    if hour > 23 or minute > 59:
        return None
    if suffix == "am" or part == "manana":
        hour = 0 if hour == 12 else hour
    elif suffix == "pm" or part in ("tarde", "noche"):
        hour = hour + 12 if hour < 12 else hour
    elif 1 <= hour <= 6:
        hour += 12  # the studio is closed before 07:00: "a las 6" is the evening class
    return time(hour, minute)


def _extract_day(text: str, local_now: datetime) -> date | None:
    """Pick the date words out of `text` and let dateparser resolve them."""
    words = text.split()
    today = local_now.date()
    if "manana" in words:
        index = words.index("manana")
        ahead = "dentro de 2 dias" if index > 0 and words[index - 1] == "pasado" else "manana"
        return _dateparser_day(ahead, local_now)
    if "hoy" in words:
        return today
    day_month = _day_of_month_phrase(words)
    if day_month is not None:
        return _not_before(_dateparser_day(day_month[0], local_now), today, month_given=day_month[1])
    weekday = next((w for w in words if w in _WEEKDAYS), None)
    if weekday is None:
        return None
    base = local_now
    if "semana" in words and any(marker in words for marker in _NEXT_WEEK_MARKERS):
        # "el martes de la semana que viene": the weekday after the end of this (Monday-first) week
        base = datetime.combine(today + timedelta(days=6 - today.weekday()), time(23, 59))
    return _dateparser_day(weekday, base)


def _day_of_month_phrase(words: List[str]) -> tuple[str, bool] | None:
    """'15 de diciembre' / 'diciembre 15' / '15/12' / 'el (lunes) 3': (text for dateparser, month given)."""
    for index, word in enumerate(words):
        if _DAY_MONTH_RE.match(word):
            return word, True
        if not word.isdigit() or not 1 <= int(word) <= 31:
            continue
        after = words[index + 1 : index + 3]
        month = next((w for w in after if w in _MONTHS), None)
        if month is not None and after[0] in (month, "de"):
            return f"{word} de {month}", True
        if index > 0 and words[index - 1] in _MONTHS:
            return f"{word} de {words[index - 1]}", True
        if index > 0 and words[index - 1] in _WEEKDAYS + ("el", "dia"):
            return word, False  # the day number wins over a weekday that does not match it
    return None


def _dateparser_day(phrase: str, base: datetime) -> date | None:
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": "DMY"}
    parsed = dateparser.parse(phrase, languages=["es"], settings=settings)
    return parsed.date() if parsed is not None else None


def _not_before(day: date | None, today: date, month_given: bool) -> date | None:
    """Move a day-of-month result that dateparser put in the past forward; drop absurd guesses."""
    if day is None:
        return None
    step = relativedelta(years=1) if month_given else relativedelta(months=1)
    tries = 0
    while day < today and tries < 12:
        day, tries = day + step, tries + 1
    if day < today or day > today + timedelta(days=_LONGEST_LOOKAHEAD_DAYS):
        return None
    return day
