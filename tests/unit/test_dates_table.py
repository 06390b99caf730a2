"""A generated table: day phrase x time phrase x booking sentence x spelling variant x message time.

The expected day and time of every case are computed here from the weekday index, the day offset
or the date the phrase was built from, never by calling the parser. Each case must be right or a
question (day None with `day_mentioned`, time None with `time_mentioned`): never another day, never
another time. And at least 97% must be fully understood, not questions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from rasa_project.dates import When, describe_when, understand_when
from rasa_project.spanish_text import MONTH_ABBREVIATIONS, MONTHS, WEEKDAYS, fold

MIN_COMBINATIONS = 600
MIN_UNDERSTOOD = 0.97

# (zone, local message time, passed to the parser in UTC?)
NOWS: List[Tuple[str, datetime, bool]] = [
    ("America/Mexico_City", datetime(2026, 12, 1, 9, 15), False),  # a Tuesday morning
    ("America/Argentina/Buenos_Aires", datetime(2026, 12, 4, 23, 30), True),  # a Friday night, sent as UTC
    ("Europe/Madrid", datetime(2026, 12, 6, 16, 0), False),  # a Sunday afternoon
    ("America/Bogota", datetime(2026, 12, 31, 12, 0), True),  # the 31st of December
]

ACCENTED = {"miercoles": "miércoles", "sabado": "sábado"}
TYPOS = {
    "lunes": "lunez",
    "martes": "martse",
    "miercoles": "miercole",
    "jueves": "jueve",
    "viernes": "vienres",
    "sabado": "sabdo",
    "domingo": "domigo",
}
DIMINUTIVES = {"sabado": "sabadito", "domingo": "domingito"}
SHORT = {"lunes": "lun", "martes": "mart", "miercoles": "mie", "jueves": "jue", "viernes": "vie", "sabado": "sab"}
MONTH_NAMES = {number: name for name, number in reversed(list(MONTHS.items()))}  # "septiembre" wins
MONTH_SHORT = {number: name for name, number in reversed(list(MONTH_ABBREVIATIONS.items()))}
WEEKDAY_NAMES = {number: name for name, number in WEEKDAYS.items()}

DayRule = Callable[[date], date]


def _next(weekday: int) -> DayRule:
    return lambda today: today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _this(weekday: int) -> DayRule:
    return lambda today: today + timedelta(days=(weekday - today.weekday()) % 7)


def _next_week(weekday: int) -> DayRule:
    return lambda today: today + timedelta(days=7 - today.weekday() + weekday)


def _ahead(days: int) -> DayRule:
    return lambda today: today + timedelta(days=days)


def day_phrases(today: date) -> List[Tuple[str, DayRule]]:
    """Every day phrase with the rule that gives its day from `today`."""
    phrases: List[Tuple[str, DayRule]] = []
    for plain, weekday in WEEKDAYS.items():
        name = ACCENTED.get(plain, plain)
        phrases += [
            (f"el {name}", _next(weekday)),
            (name, _next(weekday)),
            (f"este {name}", _this(weekday)),
            (f"el próximo {name}", _next(weekday)),
            (f"el {plain} que viene", _next(weekday)),
            (f"el {name} de la semana que viene", _next_week(weekday)),
            (f"la semana q viene el {plain}", _next_week(weekday)),
            (f"el {TYPOS[plain]}", _next(weekday)),
        ]
        if plain in DIMINUTIVES:
            phrases.append((f"el {DIMINUTIVES[plain]}", _next(weekday)))
        if plain in SHORT:
            phrases.append((SHORT[plain], _next(weekday)))
    phrases += [
        ("hoy", _ahead(0)),
        ("mañana", _ahead(1)),
        ("manana", _ahead(1)),
        ("mañna", _ahead(1)),
        ("mañanaaa", _ahead(1)),
        ("pasado mañana", _ahead(2)),
        ("pasado manana", _ahead(2)),
        ("pasadomañana", _ahead(2)),
    ]
    for offset in (3, 20):
        target = today + timedelta(days=offset)
        d, m, month = target.day, target.month, MONTH_NAMES[target.month]
        fixed: DayRule = _ahead(offset)
        phrases += [
            (f"el {d}", fixed),
            (f"el dia {d}", fixed),
            (f"el {d} de {month}", fixed),
            (f"{month} {d}", fixed),
            (f"{d}/{m}", fixed),
            (f"{d}-{m}", fixed),
            (f"{d}/{m}/{target.year}", fixed),
            (f"{target:%Y-%m-%d}", fixed),
            (f"{d} {MONTH_SHORT[m]}", fixed),
            (f"el {WEEKDAY_NAMES[target.weekday()]} {d}", fixed),  # weekday and number agree
        ]
    return phrases


@dataclass(frozen=True)
class TimePhrase:
    text: str
    meant: Optional[time] = None  # the hour the client means
    evening_twin: Optional[time] = None  # the other reading of an unmarked hour ("a las 7": 19:00)
    part: Optional[str] = None  # only a part of the day


def _t(hour: int, minute: int = 0) -> time:
    return time(hour, minute)


TIME_PHRASES: List[TimePhrase] = [
    TimePhrase("", None),
    TimePhrase("a las 7", _t(7), _t(19)),
    TimePhrase("alas 7", _t(7), _t(19)),
    TimePhrase("a las 7 y media", _t(7, 30), _t(19, 30)),
    TimePhrase("a las 7 y cuarto", _t(7, 15), _t(19, 15)),
    TimePhrase("a las 8 menos cuarto", _t(7, 45), _t(19, 45)),
    TimePhrase("7:30", _t(7, 30), _t(19, 30)),
    TimePhrase("7.30", _t(7, 30), _t(19, 30)),
    TimePhrase("7h30", _t(7, 30), _t(19, 30)),
    TimePhrase("a las 10", _t(10)),
    TimePhrase("19 hs", _t(19)),
    TimePhrase("19hs", _t(19)),
    TimePhrase("19h", _t(19)),
    TimePhrase("a las 19:00", _t(19)),
    TimePhrase("las 19", _t(19)),
    TimePhrase("8 pm", _t(20)),
    TimePhrase("8pm", _t(20)),
    TimePhrase("8 p.m.", _t(20)),
    TimePhrase("8 de la noche", _t(20)),
    TimePhrase("a las 8 de la noche", _t(20)),
    TimePhrase("a las 6 de la tarde", _t(18)),
    TimePhrase("9 d la mañana", _t(9)),
    TimePhrase("9 de la mañana", _t(9)),
    TimePhrase("a las 9 de la mañana", _t(9)),
    TimePhrase("al mediodía", _t(12)),
    TimePhrase("tipo 8", _t(8), _t(20)),
    TimePhrase("como a las 6", _t(18)),
    TimePhrase("a eso de las 6", _t(18)),
    TimePhrase("a las seis y media", _t(18, 30)),
    TimePhrase("a la una", _t(13)),
    TimePhrase("en la mañana", part="manana"),
    TimePhrase("por la mañana", part="manana"),
    TimePhrase("a la mañana", part="manana"),
    TimePhrase("por la tarde", part="tarde"),
    TimePhrase("a la noche", part="noche"),
    TimePhrase("temprano", part="temprano"),
    TimePhrase("x la mañana", part="manana"),
    TimePhrase("pa las 7", _t(7), _t(19)),
    TimePhrase("7 y media", _t(7, 30), _t(19, 30)),
    TimePhrase("a las 7 y 30", _t(7, 30), _t(19, 30)),
    TimePhrase("a las 20 hs", _t(20)),
    TimePhrase("a las 9 y cuarto de la noche", _t(21, 15)),
]

FILLERS = [
    "{x}",
    "quiero reservar yoga {x} porfa",
    "kiero sacar turno pa pilates {x}",
    "{x} masaje",
    "hay lugar {x}?",
    "hola buenas tardes queria saber si tienen lugar {x} para 2 personas gracias",
    "me anotas {x} con el bono de 10 clases",
    "Hola! Soy Ana (RSV-1003), pagué $800. ¿Puedo ir {x}? mi cel +5215512345678",
    "ok dale entonces {x} nos vemos 👍",
]

VARIANTS: Dict[str, Callable[[str], str]] = {
    "as typed": lambda text: text,
    "capitals": str.upper,
    "no accents": fold,
    "held letters": lambda text: re.sub(r"\b([^\W\d_]{4,})\b", lambda m: m.group(1) + m.group(1)[-1] * 2, text),
}
JOINERS = [" ", ", ", "... ", " si se puede "]


@dataclass(frozen=True)
class Case:
    text: str
    now: datetime
    tz: str
    day: Optional[date]
    time_phrase: TimePhrase


def cases() -> List[Case]:
    """Day x time for every message time; sentence, variant, order and comma vary with the index."""
    built: List[Case] = []
    for tz, local_now, as_utc in NOWS:
        now = local_now.replace(tzinfo=ZoneInfo(tz))
        sent = now.astimezone(ZoneInfo("UTC")) if as_utc else now
        today = local_now.date()
        days: List[Tuple[str, Optional[DayRule]]] = [("", None), *day_phrases(today)]
        for index, ((day_text, rule), phrase) in enumerate(itertools.product(days, TIME_PHRASES)):
            if not day_text and not phrase.text:
                continue
            built.append(
                Case(
                    text=_message(index, day_text, phrase.text),
                    now=sent,
                    tz=tz,
                    day=rule(today) if rule else None,
                    time_phrase=phrase,
                )
            )
    return built


def _message(index: int, day_text: str, time_text: str) -> str:
    pieces = [day_text, time_text]
    if index % 5 == 0:
        pieces.reverse()  # "a las 7 el viernes"
    joiner = JOINERS[index % len(JOINERS)]
    moment = joiner.join(piece for piece in pieces if piece)
    filler = FILLERS[index % len(FILLERS)]
    variant = list(VARIANTS.values())[(index // len(FILLERS)) % len(VARIANTS)]
    return variant(filler.format(x=moment))


def _meant_time(case: Case, local_now: datetime) -> Optional[time]:
    """The hour the client means: on today, an unmarked hour already past is the evening one."""
    phrase = case.time_phrase
    if phrase.meant is None:
        return None
    is_past_today = case.day == local_now.date() and phrase.meant < local_now.time()
    if is_past_today and phrase.evening_twin is not None and phrase.evening_twin >= local_now.time():
        return phrase.evening_twin
    return phrase.meant


def judge(case: Case) -> Tuple[str, When]:
    """'exact' (day and first reading right), 'understood' (right, the hour among the readings),
    'question' (day or time named and left as a question), or 'WRONG: ...'."""
    when = understand_when(case.text, case.now, case.tz)
    local_now = case.now.astimezone(ZoneInfo(case.tz)).replace(tzinfo=None)
    verdicts = [_judge_day(case, when), _judge_time(case, when, _meant_time(case, local_now))]
    wrong = [verdict for verdict in verdicts if verdict.startswith("WRONG")]
    if wrong:
        return "; ".join(wrong), when
    for verdict in ("question", "understood"):
        if verdict in verdicts:
            return verdict, when
    return "exact", when


def _judge_day(case: Case, when: When) -> str:
    if case.day is None:
        return "exact" if not when.day_mentioned and when.day is None else "WRONG: a day nobody named"
    if when.day == case.day:
        return "exact"
    if when.day is None and when.day_mentioned:
        return "question"
    return f"WRONG: day {when.day}, meant {case.day}"


def _judge_time(case: Case, when: When, meant: Optional[time]) -> str:
    phrase = case.time_phrase
    if phrase.part is not None:
        if when.part_of_day == phrase.part and not when.times:
            return "exact"
        return f"WRONG: part {when.part_of_day} / times {when.times}, meant {phrase.part}"
    if meant is None:
        if not when.times and not when.time_mentioned:
            return "exact"
        return f"WRONG: a time nobody named {when.times} {when.part_of_day}"
    if when.time == meant:
        return "exact"
    if meant in when.times:
        return "understood"
    if not when.times and when.time_mentioned:
        return "question"
    return f"WRONG: times {when.times}, meant {meant}"


def test_the_table_is_big_enough() -> None:
    assert len({(case.text, case.now) for case in cases()}) >= MIN_COMBINATIONS


def test_every_generated_case_is_right_or_a_question() -> None:
    counts: Dict[str, int] = {"exact": 0, "understood": 0, "question": 0, "wrong": 0}
    failures: List[str] = []
    questions: List[str] = []
    for case in cases():
        verdict, when = judge(case)
        if verdict.startswith("WRONG"):
            counts["wrong"] += 1
            failures.append(f"{case.text!r} @ {case.now:%a %Y-%m-%d %H:%M %Z}: {verdict} -> {describe_when(when)}")
        else:
            counts[verdict] += 1
            if verdict == "question":
                questions.append(f"{case.text!r}: {describe_when(when)}")
    total = sum(counts.values())
    fully = counts["exact"] + counts["understood"]
    print(f"\ndates table: {total} cases, {counts} -> {fully / total:.2%} fully understood")
    assert not failures, f"{len(failures)} wrong of {total}:\n" + "\n".join(failures[:40])
    assert fully / total >= MIN_UNDERSTOOD, f"only {fully}/{total} understood; questions:\n" + "\n".join(questions[:40])
