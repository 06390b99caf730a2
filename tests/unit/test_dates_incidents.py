"""The four ways the old parser booked a day the client did not say, each as a named test.

Message time: Thursday 2026-11-26 10:00 in Mexico City.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from rasa_project.dates import understand_when

TZ = "America/Mexico_City"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))
FRIDAY = date(2026, 11, 27)


def test_incident_split_entities_el_viernes_plus_a_las_8am_keep_both_halves() -> None:
    text = "el viernes a las 8am"
    for spans in (["el viernes", "a las 8am"], ["a las 8am"], ["el viernes"], []):
        when = understand_when(text, NOW, TZ, spans)
        assert when.at() == datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo(TZ)), spans


def test_incident_a_named_day_never_becomes_a_default() -> None:
    # the day reaches the reader even when the entity that carried it did not
    named = understand_when("quiero reservar el jueves a las 7", NOW, TZ, ["a las 7"])
    assert named.day == date(2026, 12, 3) and named.time == time(7, 0)
    # a day named but not understood is a question, never today or tomorrow
    for text in ("el jueves 31/02 a las 7", "el viernes o el sábado a las 7", "ayer a las 7", "en diciembre a las 7"):
        when = understand_when(text, NOW, TZ)
        assert when.day is None and when.day_mentioned and when.unclear_day, text
        assert when.at() is None
    # no day at all: nothing says a day, so the caller knows it has to ask or list
    unnamed = understand_when("quiero reservar a las 7", NOW, TZ)
    assert unnamed.day is None and not unnamed.day_mentioned and unnamed.at() is None


def test_incident_de_la_manana_is_a_part_of_day_not_tomorrow() -> None:
    text = "kiero sacar turno pa pilates el viernes a las 9 d la mañana"
    for spans in ([], ["el viernes a las 9 d la mañana"], ["el viernes", "a las 9 d la mañana"], ["mañana"]):
        when = understand_when(text, NOW, TZ, spans)
        assert (when.day, when.times) == (FRIDAY, (time(9, 0),)), spans
    tomorrow_morning = understand_when("mañana a las 9 de la mañana", NOW, TZ)
    assert (tomorrow_morning.day, tomorrow_morning.time) == (FRIDAY, time(9, 0))


def test_incident_pasado_manana_split_into_pasado_plus_manana() -> None:
    text = "pasado mañana a las 7pm"
    for spans in (["pasado", "mañana a las 7pm"], ["mañana a las 7pm"], ["pasado mañana a las 7pm"], []):
        when = understand_when(text, NOW, TZ, spans)
        assert when.at() == datetime(2026, 11, 28, 19, 0, tzinfo=ZoneInfo(TZ)), spans


def test_incident_a_comma_between_day_and_time_keeps_the_day() -> None:
    for text in ("el jueves, a las 7 pm", "el jueves,a las 7 pm", "El Jueves , a las 7 p.m.", "jueves... 7pm!!"):
        when = understand_when(text, NOW, TZ, ["a las 7 pm"])
        assert when.at() == datetime(2026, 12, 3, 19, 0, tzinfo=ZoneInfo(TZ)), text
