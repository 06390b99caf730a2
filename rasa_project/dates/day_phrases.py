"""Readers of the phrases that name a day by words: "mañana", "pasado mañana", "el próximo martes", "el
martes de la semana que viene", "el lunes 3", "el finde", "dentro de 3 días", "otro día" (the calendar
dates, "el 15" or "15/12", are read by `date_phrases`).

Each reader either understands the day or reports that a day was named and not understood (a
`DayFinding` without a day): "ayer", "31/02", "diciembre", "los sábados". It never falls back to a
near day, because the resolver turns a not-understood day into a question for the client.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rasa_project.dates import calendar
from rasa_project.dates.date_phrases import DATE_READERS, NEXT_WORDS, month_after, slash_finding
from rasa_project.dates.findings import Context, DayFinding, Finding
from rasa_project.dates.time_phrases import hour_continues
from rasa_project.dates.tokens import DATE, Token, number_at, word_at
from rasa_project.spanish_text import CARDINALS, RELATIVE_DAYS, WEEKDAYS

__all__ = ["DAY_READERS"]

Hits = Tuple[Finding, ...]
_PLURAL_WEEKDAYS = {name + "s": day for name, day in WEEKDAYS.items() if not name.endswith("s")}
_PAST = frozenset({"pasado", "pasada"})
_MAX_DAYS_AHEAD = 60
_NEARBY = 4


def relative_day(ctx: Context, i: int) -> Hits:
    """'hoy', 'mañana', 'pasado mañana', 'después de mañana'; 'ayer' is named but cannot be booked."""
    tokens = ctx.tokens
    word = word_at(tokens, i)
    if word == "pasado" and word_at(tokens, i + 1) == "manana":
        return (DayFinding(i, i + 2, calendar.days_from(ctx.today, RELATIVE_DAYS["pasado manana"])),)
    if word == "despues" and word_at(tokens, i + 1) == "de" and word_at(tokens, i + 2) == "manana":
        return (DayFinding(i, i + 3, calendar.days_from(ctx.today, RELATIVE_DAYS["pasado manana"])),)
    if word in RELATIVE_DAYS:
        return (DayFinding(i, i + 1, calendar.days_from(ctx.today, RELATIVE_DAYS[word])),)
    return ()


def days_ahead(ctx: Context, i: int) -> Hits:
    """'dentro de 3 días', 'en dos días', 'en una semana'."""
    tokens = ctx.tokens
    word = word_at(tokens, i)
    count_at = i + 2 if word == "dentro" and word_at(tokens, i + 1) == "de" else (i + 1 if word == "en" else -1)
    unit = {"dia": 1, "dias": 1, "semana": 7, "semanas": 7}.get(word_at(tokens, count_at + 1))
    if count_at < 0 or unit is None:
        return ()
    count = number_at(tokens, count_at)
    if count is None:
        count = CARDINALS.get(word_at(tokens, count_at))
    if count is None or count * unit > _MAX_DAYS_AHEAD:
        return ()
    return (DayFinding(i, count_at + 2, calendar.days_from(ctx.today, count * unit)),)


def other_day(ctx: Context, i: int) -> Hits:
    """'otro día', 'otra fecha': a day is wanted, which one is a question."""
    word, after = word_at(ctx.tokens, i), word_at(ctx.tokens, i + 1)
    if word in ("otro", "otra", "otros", "otras") and after in ("dia", "dias", "fecha", "fechas"):
        return (DayFinding(i, i + 2, other_day=True),)
    return ()


def week_phrase(ctx: Context, i: int) -> Hits:
    """'la semana que viene', 'la próxima semana', 'esta semana' (a range), and with a weekday after
    them ('la semana que viene el martes') that weekday of that week."""
    tokens = ctx.tokens
    mode, end = _week_words(tokens, i)
    if not mode:
        return ()
    if mode == "past":
        return (DayFinding(i, end),)
    weekday_at = end
    while word_at(tokens, weekday_at) in ("el", "para") and weekday_at < end + 2:
        weekday_at += 1  # "la semana que viene (para) el martes"
    weekday = WEEKDAYS.get(word_at(tokens, weekday_at))
    if weekday is not None:
        if mode == "next":
            return (DayFinding(i, weekday_at + 1, calendar.day_in_next_week(ctx.today, weekday)),)
        return (DayFinding(i, weekday_at + 1, calendar.day_in_this_week(ctx.today, weekday)),)
    week = calendar.next_week(ctx.today) if mode == "next" else calendar.this_week(ctx.today)
    return (DayFinding(i, end, day_range=week),)


def _week_words(tokens: Sequence[Token], i: int) -> Tuple[str, int]:
    """('next' | 'this' | 'past' | '', end) for a week named at `i`."""
    word, after = word_at(tokens, i), word_at(tokens, i + 1)
    if word in ("proxima", "proximo", "otra") and after == "semana":
        return "next", i + 2
    if word == "esta" and after == "semana":
        return "this", i + 2
    if word != "semana":
        return "", i
    if after in NEXT_WORDS:
        return "next", i + 2
    if after == "que" and word_at(tokens, i + 2) == "viene":
        return "next", i + 3
    if after in _PAST:
        return "past", i + 2
    return "", i


def weekend(ctx: Context, i: int) -> Hits:
    """'el finde', 'este fin de semana', 'el finde que viene' (a Saturday-Sunday range)."""
    tokens = ctx.tokens
    if word_at(tokens, i) != "finde":
        return ()
    before, after = word_at(tokens, i - 1), word_at(tokens, i + 1)
    start = i - 1 if before in {"este", "otro"} | NEXT_WORDS else i
    if after in _PAST:
        return (DayFinding(start, i + 2),)
    following_after = after in NEXT_WORDS or (after == "que" and word_at(tokens, i + 2) == "viene")
    end = i + (3 if after == "que" and following_after else 2 if following_after else 1)
    following = following_after or before == "otro" or before in NEXT_WORDS
    return (DayFinding(start, end, day_range=calendar.weekend(ctx.today, following)),)


def weekday_phrase(ctx: Context, i: int) -> Hits:
    """'el lunes', 'este jueves', 'el próximo martes', 'el martes que viene', 'el martes de la semana que
    viene', 'el lunes 3', 'viernes 4 de diciembre'. Plural ('los sábados') and past ('el martes pasado')
    weekdays are named but not a day to book."""
    tokens = ctx.tokens
    name, before = word_at(tokens, i), word_at(tokens, i - 1)
    start = i - 1 if before in NEXT_WORDS | _PAST | {"este", "esta", "otro", "los", "todos"} else i
    if name in _PLURAL_WEEKDAYS or (name in WEEKDAYS and before in ("los", "todos", "otro")):
        return (DayFinding(start, i + 1),)
    if name not in WEEKDAYS:
        return ()
    weekday = WEEKDAYS[name]
    dated = _dated_weekday(ctx, i + 1, weekday)  # "el viernes 4 de diciembre", "viernes, 4/12"
    if dated is not None:
        return (DayFinding(start, dated.end, dated.day, needs_hour_elsewhere=dated.needs_hour_elsewhere),)
    mode, end = _weekday_modifier(tokens, i + 1)
    if mode == "past" or before in _PAST:
        return (DayFinding(start, end),)
    if mode == "next_week":
        return (DayFinding(start, end, calendar.day_in_next_week(ctx.today, weekday)),)
    if mode == "this_week":
        return (DayFinding(start, end, calendar.day_in_this_week(ctx.today, weekday)),)
    if _week_word_nearby(ctx, start, end):
        return (DayFinding(start, end),)  # "la semana q vine el martes": which week was not understood
    confirms_day = isinstance(ctx.ends_at(start), DayFinding)  # "hoy jueves", "mañana viernes"
    if mode != "next" and (before in ("este", "esta") or confirms_day):
        return (DayFinding(start, end, calendar.this_weekday(ctx.today, weekday)),)
    return (DayFinding(start, end, calendar.next_weekday(ctx.today, weekday)),)


def _week_word_nearby(ctx: Context, start: int, end: int) -> bool:
    """Whether a 'semana' no reader understood stands next to the weekday: the week it names (maybe
    next week's, "la semana q vine") is unknown, so the nearest weekday could be the wrong one."""
    consumed = ctx.found[-1].end if ctx.found else 0
    around = range(max(consumed, start - _NEARBY), min(end + _NEARBY, len(ctx.tokens)))
    return any(word_at(ctx.tokens, k) in ("semana", "semanas") for k in around if not start <= k < end)


def _weekday_modifier(tokens: Sequence[Token], j: int) -> Tuple[str, int]:
    """What follows a weekday: 'próximo', 'que viene', 'pasado', '(de) la semana que viene', '(de) esta semana'."""
    word = word_at(tokens, j)
    if word in NEXT_WORDS:
        return "next", j + 1
    if word == "que" and word_at(tokens, j + 1) == "viene":
        return "next", j + 2
    if word in _PAST:
        return "past", j + 1
    k = j + 1 if word == "de" else j
    if word_at(tokens, k) == "la":
        mode, end = _week_words(tokens, k + 1)
        return ("next_week" if mode == "next" else mode, end) if mode in ("next", "past") else ("", j)
    mode, end = _week_words(tokens, k)
    return ("this_week", end) if mode == "this" else ("", j)


def _dated_weekday(ctx: Context, j: int, weekday: int) -> Optional[DayFinding]:
    """A day number right after a weekday. The number wins over the weekday when it cannot be the hour
    (a month or year follows, it is above 23, or it is written 4/12); otherwise, if the two disagree,
    the day holds only if the message gives the hour elsewhere ("el lunes 3 a las 9")."""
    tokens = ctx.tokens
    if 0 <= j < len(tokens) and tokens[j].kind == DATE:
        return slash_finding(ctx, j, j)
    number = number_at(tokens, j)
    if number is None or not 1 <= number <= 31 or hour_continues(tokens, j + 1):
        return None
    month = month_after(tokens, j + 1)
    if month is not None:
        return DayFinding(j, month[2], calendar.day_and_month(ctx.today, number, month[0], month[1]))
    day = calendar.day_of_month(ctx.today, number)
    if day is None:
        return DayFinding(j, j + 1)
    could_be_hour = number <= 23 and day.weekday() != weekday
    return DayFinding(j, j + 1, day=day, needs_hour_elsewhere=could_be_hour)


DAY_READERS = (other_day, relative_day, days_ahead, week_phrase, weekend, weekday_phrase, *DATE_READERS)
