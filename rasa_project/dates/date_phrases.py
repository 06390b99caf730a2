"""Readers of the phrases that name a calendar date: "el 15", "15 de diciembre (de 2026)", "diciembre
15", "15/12", "15-12-26", "2026-12-15", "el 15 del mes que viene", "del 15 al 20", "diciembre" alone.

A date is resolved by `calendar` from today on: a date that is past, impossible ("31/02") or only a
month ("diciembre") is a `DayFinding` without a day, so the client is asked. A bare number is never
a date ("bono de 10", "10"): it needs "el", "día", "del", a month, or the slashes of a date.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rasa_project.dates import calendar
from rasa_project.dates.findings import Context, DayFinding, Finding
from rasa_project.dates.time_phrases import hour_continues
from rasa_project.dates.tokens import DATE, Token, number_at, word_at
from rasa_project.spanish_text import CARDINALS, MONTH_ABBREVIATIONS, MONTHS, ORDINALS

__all__ = ["DATE_READERS", "NEXT_WORDS", "month_after", "slash_finding"]

Hits = Tuple[Finding, ...]
NEXT_WORDS = frozenset({"proximo", "proxima", "siguiente", "entrante"})
_BEFORE_A_NAME = frozenset({"soy", "llamo", "con", "profe", "profesor", "profesora"})


def day_number(ctx: Context, i: int) -> Hits:
    """'15 de diciembre (de 2026)', 'quince de diciembre', 'el 15', 'el día 15', 'a las 7 del 15', 'el 15
    del mes que viene'; never a bare '15'."""
    tokens = ctx.tokens
    number = number_at(tokens, i)
    word = word_at(tokens, i)
    if number is None:
        number = CARDINALS.get(word, ORDINALS.get(word) if word in ("primero", "1ro") else None)
    if number is None or not 1 <= number <= 31 or hour_continues(tokens, i + 1):
        return ()
    month = month_after(tokens, i + 1)
    if month is not None:
        return (DayFinding(i, month[2], calendar.day_and_month(ctx.today, number, month[0], month[1])),)
    if word or word_at(tokens, i - 1) not in ("el", "dia", "del"):
        return ()
    month_ahead = _month_ahead(tokens, i + 1)
    if month_ahead is not None:  # "el 15 del mes que viene", "el 30 de este mes"
        months, end = month_ahead
        return (DayFinding(i - 1, end, calendar.day_in_month(ctx.today, number, months)),)
    if word_at(tokens, i + 1) == "de" and number_at(tokens, i + 2) is None:
        return ()  # "el 15 de cada mes", "el 10 de descuento" (but "el 15 de 7 a 9" is the 15th)
    return (DayFinding(i - 1, i + 1, calendar.day_of_month(ctx.today, number)),)


def date_range(ctx: Context, i: int) -> Hits:
    """'del 15 al 20', 'de 15 a 20 de diciembre': a range of days, not the first of them."""
    tokens = ctx.tokens
    word = word_at(tokens, i)
    first, last = number_at(tokens, i + 1), number_at(tokens, i + 3)
    if word not in ("de", "del") or word_at(tokens, i + 2) not in ("a", "al") or first is None or last is None:
        return ()
    month = month_after(tokens, i + 4)
    if month is None and (word == "de" or last > 31):  # "de 7 a 9" is a window of hours
        return ()
    if month is None:
        start = calendar.day_of_month(ctx.today, first)
    else:
        start = calendar.day_and_month(ctx.today, first, month[0], month[1])
    end = month[2] if month else i + 4
    finish = calendar.day_and_month(start, last, start.month, start.year) if start and first < last else None
    return (DayFinding(i, end, day_range=(start, finish)) if start and finish else DayFinding(i, end),)


def _month_ahead(tokens: Sequence[Token], j: int) -> Optional[Tuple[int, int]]:
    """'del mes que viene' / 'del próximo mes' (1) or 'de este mes' (0) after a day number: (months, end)."""
    if word_at(tokens, j) not in ("de", "del"):
        return None
    first, second = word_at(tokens, j + 1), word_at(tokens, j + 2)
    if first == "este" and second == "mes":
        return 0, j + 3
    if first in NEXT_WORDS and second == "mes":
        return 1, j + 3
    if first == "mes" and second in NEXT_WORDS:
        return 1, j + 3
    if first == "mes" and second == "que" and word_at(tokens, j + 3) == "viene":
        return 1, j + 4
    return None


def month_after(tokens: Sequence[Token], j: int) -> Optional[Tuple[int, Optional[int], int]]:
    """'de diciembre', 'diciembre', '(de) dic' after a day number, each with an optional '(de|del) 2026':
    (month, year, end)."""
    k = j + 1 if word_at(tokens, j) == "de" else j
    name = word_at(tokens, k)
    if name in MONTHS:
        month = MONTHS[name]
    elif name in MONTH_ABBREVIATIONS:  # safe right after a day number: "15 dic", "15 de sept"
        month = MONTH_ABBREVIATIONS[name]
    else:
        return None
    year_at = k + 2 if word_at(tokens, k + 1) in ("de", "del") else k + 1
    year = number_at(tokens, year_at)
    if year is not None and year >= 2000:
        return month, year, year_at + 1
    return month, None, k + 1


def slash_date(ctx: Context, i: int) -> Hits:
    """'15/12', '15-12', '15/12/2026', '15.12.26' (day first, as everywhere from Mexico to Spain)."""
    tokens = ctx.tokens
    if tokens[i].kind != DATE or word_at(tokens, i - 1) in ("la", "las"):
        return ()
    return (slash_finding(ctx, i, i),)


def slash_finding(ctx: Context, i: int, start: int) -> DayFinding:
    day, month, year = ctx.tokens[i].values
    if not 1 <= month <= 12:
        return DayFinding(start, i + 1)
    return DayFinding(start, i + 1, calendar.day_and_month(ctx.today, day, month, year or None))


def month_name(ctx: Context, i: int) -> Hits:
    """'diciembre 15' is a day; 'diciembre' alone names no day to book: ask (but 'soy Julio' is a name)."""
    tokens = ctx.tokens
    month = MONTHS.get(word_at(tokens, i))
    if month is None:
        return ()
    number = number_at(tokens, i + 1)
    if number is not None and 1 <= number <= 31 and not hour_continues(tokens, i + 2):
        return (DayFinding(i, i + 2, calendar.day_and_month(ctx.today, number, month)),)
    if word_at(tokens, i - 1) in _BEFORE_A_NAME:  # "soy Julio", "la clase con Abril"
        return ()
    return (DayFinding(i, i + 1),)


DATE_READERS = (date_range, day_number, slash_date, month_name)
