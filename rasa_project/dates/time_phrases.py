"""Readers of the phrases that name a time of day: "a las 7 y media", "19hs", "9 d la mañana", "tipo 8",
"al mediodía", "por la tarde", "a la misma hora".

A bare number is never an hour ("bono de 10", "10"): an hour needs an anchor ("las", "a la",
"tipo"), a suffix ("pm", "hs"), a clock form ("7:30") or a part of day after it ("9 de la mañana").
"de la mañana" after an hour is read here, before any day reader sees the word "mañana", which is
what keeps "el viernes a las 9 d la mañana" from turning into tomorrow.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rasa_project.dates.findings import Context, DayFinding, Finding, TimeFinding
from rasa_project.dates.tokens import CLOCK, DATE, NUMBER, Token, number_at, word_at
from rasa_project.dates.typos import edit_distance
from rasa_project.spanish_text import CARDINALS, HOUR_WORDS, MONTH_ABBREVIATIONS, MONTHS, PARTS_OF_DAY

__all__ = ["TIME_READERS", "hour_continues", "part_word"]

Hits = Tuple[Finding, ...]
_PREPOSITIONS = frozenset("a para tipo como sobre hacia desde hasta de por entre y o antes despues eso".split())
_MARKER_PREPOSITIONS = frozenset({"de", "en", "por", "a", "para", "durante"})
_DURATION_WORDS = frozenset({"de", "por", "durante", "dura", "duran"})
_LONGEST_DURATION = 3  # "clase de 1h": an hour count, not 13:00
_DAY_NUMBER_WORDS = frozenset({"el", "dia", *MONTHS})
_BOUND_WORDS = frozenset({"desde", "hasta", "entre", "pasadas", "tras"})
_BOUND_BEFORE_DE = frozenset({"antes", "despues", "luego", "partir"})
_BEFORE_TIPO_THE_NOUN = frozenset({"el", "la", "un", "una", "de", "que", "clase", "este", "ese", "del"})  # "el tipo 2"


def part_word(word: str) -> Optional[str]:
    """'tarde'/'tardes' -> 'tarde', 'madrugada' -> 'manana', anything else -> None."""
    if word in PARTS_OF_DAY:
        return PARTS_OF_DAY[word]
    return PARTS_OF_DAY.get(word[:-1]) if word.endswith("s") else None


def hour_continues(tokens: Sequence[Token], index: int) -> bool:
    """Whether what starts at `index` makes the bare number before it an hour: "y media", "menos
    cuarto", "de la noche". ("el 4 en la mañana" is the 4th, in the morning: only "de" binds.)"""
    return _marker_at(tokens, index, bare=True) is not None or _minutes_at(tokens, index, 1)[2] != index


def _marker_at(tokens: Sequence[Token], i: int, bare: bool = False) -> Optional[Tuple[str, int]]:
    """'de la mañana' / 'en la tarde' / 'de noche' right after an hour: (part, end). After a `bare`
    number only 'de' binds: "9 de la mañana" is an hour, "el 4 en la mañana" a day and a part."""
    first = word_at(tokens, i)
    prepositions = ("de",) if bare else _MARKER_PREPOSITIONS
    if first in prepositions and word_at(tokens, i + 1) in ("la", "las"):
        part = part_word(word_at(tokens, i + 2))
        return (part, i + 3) if part else None
    if first == "de" and word_at(tokens, i + 1) in ("tarde", "tardes", "noche", "noches", "madrugada"):
        return part_word(word_at(tokens, i + 1)) or "", i + 2
    return None


def _minutes_at(tokens: Sequence[Token], i: int, hour: int) -> Tuple[int, int, int]:
    """'y media' / 'y cuarto' / 'y 10' / 'menos cuarto' / 'en punto' after `hour`: (hour, minute, end)."""
    link, amount_word = word_at(tokens, i), word_at(tokens, i + 1)
    amount = number_at(tokens, i + 1)
    if amount is None and amount_word in CARDINALS:
        amount = CARDINALS[amount_word]
    fraction = _fraction(amount_word)
    if link == "y":
        minute = fraction or amount or 0
        if 5 <= minute <= 55 and minute % 5 == 0:
            return hour, minute, i + 2
    if link == "menos":
        before = 15 if fraction == 15 else (amount or 0)
        if 5 <= before <= 30 and before % 5 == 0:
            previous_hour = 12 if hour == 1 else (23 if hour == 0 else hour - 1)
            return previous_hour, 60 - before, i + 2
    if link == "en" and amount_word == "punto":
        return hour, 0, i + 2
    return hour, 0, i


def _fraction(word: str) -> int:
    """'media' 30, 'cuarto' 15, also as typed in a hurry ('meda', 'medio', 'cuatro'); else 0."""
    if len(word) < 4:
        return 0
    for name, minutes in (("media", 30), ("cuarto", 15)):
        if edit_distance(word, name) <= 1:
            return minutes
    return 0


def _spoken_minutes(tokens: Sequence[Token], i: int) -> Optional[Tuple[int, int, str]]:
    """'a las 7 30' / 'a las 7 30 pm' (voice notes, a space for the colon): (minute, end, suffix).
    Not 'a las 7 15 de diciembre' or 'a las 7 20 ene', where the number is a day."""
    token = tokens[i] if 0 <= i < len(tokens) else None
    if token is None or token.kind != NUMBER:
        return None
    minute = token.values[0]
    after = word_at(tokens, i + 1)
    if not 10 <= minute <= 55 or minute % 5 or after == "de" or after in MONTHS or after in MONTH_ABBREVIATIONS:
        return None
    return minute, i + 1, token.suffix


def _hour_at(tokens: Sequence[Token], i: int, words: bool) -> Optional[Tuple[int, int, str, int]]:
    """The hour written at `i`: (hour, minute, suffix, end) for '7', '7pm', '7:30', or 'siete' if `words`."""
    if not 0 <= i < len(tokens):
        return None
    token = tokens[i]
    if token.kind == CLOCK:
        return token.values[0], token.values[1], token.suffix, i + 1
    if token.kind == NUMBER and token.values[0] < 100:
        return token.values[0], 0, token.suffix, i + 1
    word = word_at(tokens, i)
    if words and word in HOUR_WORDS:
        suffix = word_at(tokens, i + 1)
        if suffix in ("am", "pm"):
            return HOUR_WORDS[word], 0, suffix, i + 2
        return HOUR_WORDS[word], 0, "", i + 1
    return None


def _complete(tokens: Sequence[Token], start: int, hour: Tuple[int, int, str, int], bare: bool = False) -> TimeFinding:
    """The hour at `start` with its minutes and part of day, if they follow."""
    value, minute, suffix, end = hour
    written_clock = tokens[end - 1].kind == CLOCK
    if minute == 0 and not written_clock:
        value, minute, end = _minutes_at(tokens, end, value)
    spoken = None if bare or written_clock or minute or suffix else _spoken_minutes(tokens, end)
    if spoken is not None:
        minute, end, suffix = spoken
    marker = _marker_at(tokens, end, bare)
    part = None
    if marker is not None:
        part, end = marker
    return TimeFinding(start, end, hour=value, minute=minute, suffix=suffix, part=part or None)


def anchored_hour(ctx: Context, i: int) -> Hits:
    """'(a) las 7', 'las 19', 'a la una', 'tipo 8', 'como a las 6', 'a eso de las 6', 'a las 7-8'.
    After 'antes de', 'después de', 'desde', 'entre'... the hour is a bound, not an hour to book."""
    tokens = ctx.tokens
    word = word_at(tokens, i)
    found: Optional[TimeFinding] = None
    if word == "las" and _is_hour_range(tokens, i + 1):  # "a las 7-8": either of them
        first, second = tokens[i + 1].values[:2]
        return TimeFinding(i, i + 2, hour=first), TimeFinding(i + 1, i + 2, hour=second)
    tipo_as_about = word == "tipo" and word_at(tokens, i - 1) not in _BEFORE_TIPO_THE_NOUN
    if word == "las" or (tipo_as_about and word_at(tokens, i + 1) not in ("las", "la", "a")):
        hour = _hour_at(tokens, i + 1, words=True)
        found = _complete(tokens, i, hour) if hour else None
    elif word == "la" and word_at(tokens, i - 1) in _PREPOSITIONS:
        hour = _hour_at(tokens, i + 1, words=True)
        found = _complete(tokens, i, hour) if hour and hour[0] == 1 else None
    if found is None:
        return ()
    if _is_bound(tokens, i):
        return (TimeFinding(i, _second_bound_end(tokens, found.end), vague=True),)
    return (found,)


def _is_hour_range(tokens: Sequence[Token], i: int) -> bool:
    if not (0 <= i < len(tokens) and tokens[i].kind == DATE):
        return False
    first, second, year = tokens[i].values
    return not year and first < second <= 23


def _is_bound(tokens: Sequence[Token], anchor: int) -> bool:
    """'antes de las 7', 'después de la una', 'a partir de las 6', 'desde las 7', 'entre las 7 y las 8'."""
    before = word_at(tokens, anchor - 1)
    return before in _BOUND_WORDS or (before == "de" and word_at(tokens, anchor - 2) in _BOUND_BEFORE_DE)


def _second_bound_end(tokens: Sequence[Token], end: int) -> int:
    """The end of 'y las 8' / 'a las 9' after a first bound, so the second bound is not an hour either."""
    if word_at(tokens, end) not in ("y", "a", "o"):
        return end
    hour_at = end + 2 if word_at(tokens, end + 1) in ("las", "la") else end + 1
    hour = _hour_at(tokens, hour_at, words=True)
    return _complete(tokens, hour_at, hour).end if hour else end


def written_hour(ctx: Context, i: int) -> Hits:
    """'7:30', '19hs', '8 pm', '7h30' anywhere; '9 de la mañana', '8 y media', 'siete de la tarde'."""
    tokens = ctx.tokens
    hour = _hour_at(tokens, i, words=True)
    if hour is None:
        return ()
    token = tokens[i]
    if token.kind == CLOCK or token.suffix in ("am", "pm"):
        return (_complete(tokens, i, hour),)
    if token.suffix == "h":
        is_duration = word_at(tokens, i - 1) in _DURATION_WORDS and hour[0] <= _LONGEST_DURATION
        return () if is_duration else (_complete(tokens, i, hour),)
    if word_at(tokens, i - 1) in _DAY_NUMBER_WORDS and ctx.ends_at(i) is None:
        return ()  # "el 4 ...", "el día 4 ...", "diciembre 4 ...": a day number, not an hour
    found = _complete(tokens, i, hour, bare=True)
    has_minutes = found.minute != 0 and token.kind == NUMBER and hour[0] <= 12
    return (found,) if found.part is not None or has_minutes else ()


def hour_range(ctx: Context, i: int) -> Hits:
    """'de 7 a 9', 'desde las 7 hasta las 9': a window, not an hour to book (the client is asked)."""
    tokens = ctx.tokens
    if word_at(tokens, i) not in ("de", "desde") or word_at(tokens, i + 2) not in ("a", "hasta"):
        return ()
    first, second = number_at(tokens, i + 1), number_at(tokens, i + 3)
    is_window = first is not None and second is not None and first < second <= 23
    month_follows = word_at(tokens, i + 4) in MONTHS or word_at(tokens, i + 5) in MONTHS  # "de 15 a 20 de dic."
    return (TimeFinding(i, i + 4, vague=True),) if is_window and not month_follows else ()


def midday(ctx: Context, i: int) -> Hits:
    """'al mediodía' is 12:00 sharp; 'medianoche' 00:00."""
    word = word_at(ctx.tokens, i)
    if word == "mediodia":
        return (TimeFinding(i, i + 1, hour=12, suffix="pm"),)
    if word == "medianoche":
        return (TimeFinding(i, i + 1, hour=12, suffix="am"),)
    return ()


def part_of_day(ctx: Context, i: int) -> Hits:
    """'en la mañana', 'por las tardes', 'de noche', 'temprano', 'a primera hora', 'esta noche' (today),
    'viernes tarde'; and 'de mañana' only right after a day or an hour ('el viernes de mañana'):
    elsewhere it is tomorrow ('la clase de mañana')."""
    tokens = ctx.tokens
    word, after = word_at(tokens, i), word_at(tokens, i + 1)
    if word in ("la", "las") and part_word(after):
        return (TimeFinding(i, i + 2, part=part_word(after)),)
    if word == "esta" and part_word(after):
        return DayFinding(i, i + 1, day=ctx.today), TimeFinding(i, i + 2, part=part_word(after))
    if word == "de" and after in ("tarde", "tardes", "noche", "noches", "madrugada"):
        return (TimeFinding(i, i + 2, part=part_word(after)),)
    if word == "de" and after == "manana" and isinstance(ctx.ends_at(i), DayFinding):
        return (TimeFinding(i, i + 2, part="manana"),)  # "el viernes de mañana": Friday morning
    if word == "de" and after == "manana" and ctx.ends_at(i) is not None:
        # "la clase de las 7 de mañana": tomorrow's class at 7, or 7 in the morning of some day
        return TimeFinding(i, i + 2, part="manana"), DayFinding(i, i + 2, maybe=True)
    if word in ("tarde", "noche") and isinstance(ctx.ends_at(i), DayFinding):
        return (TimeFinding(i, i + 1, part=word),)
    if word == "temprano":
        return (TimeFinding(i, i + 1, part="temprano"),)
    if word == "primera" and after == "hora":  # "a primera hora": as early as the studio opens
        return (TimeFinding(i, i + 2, part="temprano"),)
    return ()


def same_or_other_time(ctx: Context, i: int) -> Hits:
    """'a la misma hora' / 'mismo horario' keep the earlier time; 'otra hora' / 'otro horario' ask."""
    word, after = word_at(ctx.tokens, i), word_at(ctx.tokens, i + 1)
    if after not in ("hora", "horas", "horario", "horarios"):
        return ()
    if word in ("misma", "mismo"):
        return (TimeFinding(i, i + 2, same_time=True),)
    if word in ("otro", "otra", "otros", "otras"):
        return (TimeFinding(i, i + 2, other_time=True),)
    return ()


TIME_READERS = (same_or_other_time, anchored_hour, written_hour, hour_range, midday, part_of_day)
