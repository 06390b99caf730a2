"""The rules of `rasa_project.dates` one by one: readings of an hour, noise, days that are questions,
"mañana" as a day or a part of day, typos, ranges, and independence from the machine.

Message time, unless a test says otherwise: Thursday 2026-11-26 10:00 in Mexico City.
"""

from __future__ import annotations

import os
import time as clock
from datetime import date, datetime, time
from typing import Iterator, Optional, Tuple
from zoneinfo import ZoneInfo

import pytest

from rasa_project.dates import When, describe_when, understand_when

TZ = "America/Mexico_City"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))
THURSDAY, FRIDAY, SATURDAY, SUNDAY = date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)


def _read(text: str, now: datetime = NOW) -> When:
    return understand_when(text, now, TZ)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(TZ))


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        ("a las 7", ((7, 0), (19, 0))),  # no marker: both, morning first
        ("a las 9", ((9, 0), (21, 0))),
        ("a las 10", ((10, 0),)),  # 22:00 is after closing
        ("a las 6", ((18, 0),)),  # the studio opens at 07:00
        ("a la una", ((13, 0),)),
        ("7pm", ((19, 0),)),
        ("19:00", ((19, 0),)),
        ("7 de la tarde", ((19, 0),)),
        ("a las 7 y media", ((7, 30), (19, 30))),
        ("a las 8 menos cuarto", ((7, 45), (19, 45))),
        ("las 6 y cuarto", ((18, 15),)),
        ("a las 7-8", ((7, 0), (19, 0), (8, 0), (20, 0))),
        ("por la mañana a las 8", ((8, 0),)),  # a part of day said apart settles the hour
        ("a las 8 a la noche", ((20, 0),)),
        ("12 de la noche", ((0, 0),)),
    ],
)
def test_every_reading_of_an_hour_preferred_first(text: str, readings: Tuple[Tuple[int, int], ...]) -> None:
    when = _read(text)
    assert when.times == tuple(time(h, m) for h, m in readings)
    assert when.time == when.times[0] and when.time_mentioned and when.part_of_day is None


def test_on_today_an_hour_already_past_is_the_evening_one() -> None:
    assert _read("hoy a las 7").times == (time(19, 0),)  # said at 10:00
    assert _read("hoy a las 8am").times == (time(8, 0),)  # explicit: kept, the caller sees it is past
    assert _read("mañana a las 7").times == (time(7, 0), time(19, 0))


@pytest.mark.parametrize(
    "text",
    [
        "a las 25",
        "7:75",
        "después de las 6",
        "antes de las 7",
        "entre las 7 y las 8",
        "de 7 a 9",
        "otra hora",
        "19 de la mañana",
    ],
)
def test_a_time_named_but_not_an_hour_to_book_is_a_question(text: str) -> None:
    when = _read(text)
    assert when.time_mentioned and not when.times and when.time is None


@pytest.mark.parametrize(
    "text",
    [
        "bono de 10",
        "el de 10 clases",
        "5 clases",
        "RSV-1003",
        "$800",
        "+5215512345678",
        "2 personas",
        "1 hora",
        "la clase dura 1h",
        "el 10% de descuento",
        "quiero las dos clases",
        "mi cel es 55 1234 5678",
        "buenas tardes",
        "buenas noches, gracias",
        "hasta mañana!",
        "quiero el bono de 10 clases para 2 personas, reserva RSV-1003, pagué $800, cel +5215512345678, dura 1 hora",
        "me sale $8.30 la clase",
        "pagado, nos vemos. tomamos unos mates y en dos partes",
        "quiero la clase tipo 2",
        "quiero las 2 plazas",
    ],
)
def test_numbers_and_words_that_are_not_a_moment(text: str) -> None:
    assert _read(text).is_empty, describe_when(_read(text))


def test_noise_around_a_real_moment_is_ignored() -> None:
    when = _read("hola, mi reserva RSV-1003 de 2 personas con el bono de 10 clases ($800): el viernes a las 8pm")
    assert when.at() == _at(FRIDAY, 20)


@pytest.mark.parametrize(
    "text",
    [
        "ayer",
        "anoche a las 8",
        "31/02",
        "el 30 de febrero",
        "15/12/2020",
        "diciembre",
        "en diciembre a las 7",
        "el martes pasado",
        "la semana pasada",
        "los sábados a las 10",
        "el otro martes",
        "el viernes o el sábado",
        "mañana no, pasado",  # "pasado" alone is not a day; tomorrow was refused
        "mañana no puedo",
        "hoy viernes",  # today is Thursday
        "el viernes 8",  # the 8th is a Tuesday, and the 8 may be the hour
        "otro día",
        "la semana q vine el martes",  # which week was not understood: this Tuesday may be the wrong one
        "la clase de las 7 de mañana",  # tomorrow's 7 o'clock, or 7 in the morning of some day
    ],
)
def test_a_day_named_but_not_understood_is_a_question(text: str) -> None:
    when = _read(text)
    assert when.day is None and when.day_mentioned and when.unclear_day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("mañana viernes", FRIDAY),  # agreeing names are one day
        ("hoy jueves", THURSDAY),
        ("el viernes 27", FRIDAY),
        ("el viernes 4 de diciembre", date(2026, 12, 4)),
        ("el lunes 3 a las 9", date(2026, 12, 3)),  # disagreeing, the hour is elsewhere: the number wins
        ("el lunes 7 de diciembre", date(2026, 12, 7)),
        ("el finde, el sábado", SATURDAY),
        ("el 31", date(2026, 12, 31)),
        ("el 1ro de diciembre", date(2026, 12, 1)),
        ("el primero de diciembre", date(2026, 12, 1)),
        ("quince de diciembre", date(2026, 12, 15)),
        ("15 dic", date(2026, 12, 15)),
        ("diciembre 15", date(2026, 12, 15)),
        ("15-12", date(2026, 12, 15)),
        ("15/12/2026", date(2026, 12, 15)),
        ("2026-12-15", date(2026, 12, 15)),
        ("dentro de 3 días", SUNDAY),
        ("este jueves", THURSDAY),
        ("el jueves", date(2026, 12, 3)),
        ("el próximo jueves", date(2026, 12, 3)),
        ("el jueves que viene", date(2026, 12, 3)),
        ("el martes de la semana que viene", date(2026, 12, 1)),
        ("la semana q viene el martes", date(2026, 12, 1)),
        ("el martes de la próxima semana", date(2026, 12, 1)),
        ("pasadomañana", SATURDAY),
        ("después de mañana", SATURDAY),
        ("esta noche", THURSDAY),
        ("a las 7 del 15", date(2026, 12, 15)),
        ("el 15 del mes que viene", date(2026, 12, 15)),
        ("el 30 de este mes", date(2026, 11, 30)),
        ("en una semana", date(2026, 12, 3)),
        ("soy Julio, quiero turno mañana", FRIDAY),  # a name, not July
        ("el martes de la semana que vienee", date(2026, 12, 1)),  # held letters
        ("EL SABADOOO", SATURDAY),
        ("el 15 de 7 a 9", date(2026, 12, 15)),
    ],
)
def test_days(text: str, day: date) -> None:
    assert _read(text).day == day


@pytest.mark.parametrize(
    ("text", "day", "part"),
    [
        ("mañana en la mañana", FRIDAY, "manana"),
        ("mañana por la mañana", FRIDAY, "manana"),
        ("mañana a la mañana", FRIDAY, "manana"),
        ("mañana de mañana", FRIDAY, "manana"),
        ("el viernes de mañana", FRIDAY, "manana"),
        ("en la mañana", None, "manana"),
        ("por la mañana", None, "manana"),
        ("a la mañana", None, "manana"),
        ("x las mañanas", None, "manana"),
        ("mañana temprano", FRIDAY, "temprano"),
        ("el viernes tarde", FRIDAY, "tarde"),
        ("esta noche", THURSDAY, "noche"),
        ("mañana a primera hora", FRIDAY, "temprano"),
        ("el viernes en la tardecita", FRIDAY, "tarde"),
        ("la clase de mañana", FRIDAY, None),
        ("buenas tardes, mañana", FRIDAY, None),
    ],
)
def test_manana_is_tomorrow_only_when_it_is_not_a_part_of_day(text: str, day: Optional[date], part: str) -> None:
    when = _read(text)
    assert (when.day, when.part_of_day, when.times) == (day, part, ())


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("jueve", date(2026, 12, 3)),
        ("sabdo", SATURDAY),
        ("mañna", FRIDAY),
        ("mñana", FRIDAY),
        ("mañanaaa", FRIDAY),
        ("miercole", date(2026, 12, 2)),
        ("vienres", FRIDAY),
        ("biernes", FRIDAY),
        ("sabadito", SATURDAY),
        ("el vie", FRIDAY),
        ("mierc", date(2026, 12, 2)),
        ("MIÉRCOLES", date(2026, 12, 2)),
        ("pasdo mañana", SATURDAY),
    ],
)
def test_typos_in_day_words(text: str, day: date) -> None:
    assert _read(text).day == day


@pytest.mark.parametrize("text", ["lo he pagado", "junto con mi amiga", "el mayor", "una manzana", "dos partes"])
def test_words_close_to_a_day_word_are_not_days(text: str) -> None:
    assert _read(text).is_empty


@pytest.mark.parametrize(
    ("text", "now", "first", "last"),
    [
        ("el finde", NOW, SATURDAY, SUNDAY),
        ("el fin de semana", _at(SATURDAY, 9), SATURDAY, SUNDAY),
        ("este finde", _at(SUNDAY, 9), SUNDAY, SUNDAY),
        ("el finde que viene", _at(SATURDAY, 9), date(2026, 12, 5), date(2026, 12, 6)),
        ("la semana que viene", NOW, date(2026, 11, 30), date(2026, 12, 6)),
        ("esta semana", NOW, THURSDAY, SUNDAY),
        ("del 15 al 20", NOW, date(2026, 12, 15), date(2026, 12, 20)),
    ],
)
def test_ranges_of_days(text: str, now: datetime, first: date, last: date) -> None:
    when = _read(text, now)
    assert when.day is None and when.day_range == (first, last) and not when.unclear_day


@pytest.mark.parametrize(
    ("text", "day", "times"),
    [
        ("mañana no, pasado mañana sí", SATURDAY, ()),
        ("hoy no puedo, mañana sí", FRIDAY, ()),
        ("no puedo mañana, pero el viernes sí a las 7pm", FRIDAY, (time(19, 0),)),
        ("el viernes no, el sábado", SATURDAY, ()),
        ("no, el viernes", FRIDAY, ()),  # a correction, not a refusal
        ("a las 7 no puedo, a las 8 pm sí", None, (time(20, 0),)),
        ("el viernes, no sé a qué hora", FRIDAY, ()),
    ],
)
def test_a_refused_day_or_hour_is_never_the_one_booked(text: str, day: Optional[date], times: Tuple[time, ...]) -> None:
    when = _read(text)
    assert (when.day, when.times) == (day, times)


def test_a_refused_day_left_alone_asks_for_another() -> None:
    when = understand_when("mañana no puedo", NOW, TZ, ["mañana"])  # the entity misses the "no"
    assert when.day is None and when.other_day and when.unclear_day


@pytest.mark.parametrize(
    ("text", "readings"),
    [("a las 7 30", ((7, 30), (19, 30))), ("a las 7 15 personas", ((7, 0), (19, 0))), ("las 19 45", ((19, 45),))],
)
def test_minutes_said_after_a_space(text: str, readings: Tuple[Tuple[int, int], ...]) -> None:
    assert _read(text).times == tuple(time(h, m) for h, m in readings)


def test_flags_and_echo() -> None:
    assert _read("a la misma hora").same_time
    assert _read("otro día").other_day and _read("otro horario").other_day
    assert describe_when(_read("el viernes 4 de diciembre a las 8")) == "viernes 4 de diciembre, 08:00 o 20:00"
    assert describe_when(_read("hola")) == "sin dia ni hora"


def test_when_keeps_time_and_times_together() -> None:
    with pytest.raises(ValueError):
        When(tz=TZ, time=time(7, 0), times=(time(19, 0),))
    with pytest.raises(ValueError):
        When(tz=TZ, day=FRIDAY)  # a day without day_mentioned


def test_a_day_is_never_before_today_in_the_business_zone() -> None:
    late = datetime(2026, 11, 27, 5, 30, tzinfo=ZoneInfo("UTC"))  # 23:30 Thursday in Mexico City
    assert _read("hoy", late).day == THURSDAY
    assert _read("el 26", late).day == THURSDAY
    assert _read("26/11", late).day == THURSDAY
    assert _read("el 25", late).day == date(2026, 12, 25)


@pytest.fixture
def other_machine() -> Iterator[None]:
    """A machine in another zone, as far as the process can tell."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    clock.tzset()
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    clock.tzset()


def test_the_machine_zone_changes_nothing(other_machine: None) -> None:
    texts = ["hoy a las 7", "mañana", "el viernes 4 de diciembre", "15/12", "el finde", "a las 6"]
    tokyo = [_read(text) for text in texts]
    os.environ["TZ"] = "UTC"
    clock.tzset()
    assert [_read(text) for text in texts] == tokyo
