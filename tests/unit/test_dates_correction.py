"""`merge_correction`: a follow-up that changes half of a request keeps the other half, and never
invents a day. Message time: Thursday 2026-11-26 10:00 in Mexico City."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from rasa_project.dates import When, merge_correction, understand_when

TZ = "America/Mexico_City"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))
FRIDAY, SATURDAY, MONDAY = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)


def _merge(previous: str, correction: str) -> When:
    return merge_correction(understand_when(previous, NOW, TZ), understand_when(correction, NOW, TZ))


def test_a_new_day_keeps_the_time() -> None:
    merged = _merge("el viernes a las 7", "mejor el sábado")
    assert (merged.day, merged.times) == (SATURDAY, (time(7, 0), time(19, 0)))


def test_a_new_time_keeps_the_day() -> None:
    merged = _merge("el viernes a las 7", "no, a las 8 pm")
    assert (merged.day, merged.times) == (FRIDAY, (time(20, 0),))


def test_otro_dia_drops_the_day_and_asks() -> None:
    merged = _merge("el viernes a las 7pm", "otro día")
    assert merged.day is None and merged.other_day and merged.unclear_day
    assert merged.times == (time(19, 0),)  # only the day was refused


def test_otro_horario_keeps_the_day_and_asks_the_time() -> None:
    merged = _merge("el viernes a las 7pm", "otro horario")
    assert merged.day == FRIDAY and merged.other_day and not merged.times and merged.time is None


def test_a_la_misma_hora_keeps_the_earlier_times() -> None:
    merged = _merge("el viernes a las 7", "el lunes a la misma hora")
    assert (merged.day, merged.times, merged.same_time) == (MONDAY, (time(7, 0), time(19, 0)), False)
    assert _merge("el viernes a las 7pm", "a la misma hora") == understand_when("el viernes a las 7pm", NOW, TZ)


def test_a_part_of_day_settles_the_earlier_reading() -> None:
    assert _merge("el viernes a las 7", "de la tarde").times == (time(19, 0),)
    changed = _merge("el viernes a las 6", "mejor en la mañana")
    assert changed.day == FRIDAY and not changed.times and changed.part_of_day == "manana"


def test_both_halves_can_change_at_once() -> None:
    merged = _merge("el viernes a las 7", "mejor mañana tipo 10")
    assert (merged.day, merged.times) == (FRIDAY, (time(10, 0),))
    assert _merge("el jueves a las 7", "mejor mañana a las 9 de la mañana").at() == datetime(
        2026, 11, 27, 9, 0, tzinfo=ZoneInfo(TZ)
    )


def test_a_correction_never_invents_a_day() -> None:
    unclear = _merge("el viernes a las 7", "mejor el 31/02")
    assert unclear.day is None and unclear.unclear_day and unclear.times == (time(7, 0), time(19, 0))
    no_day_yet = _merge("a las 7", "mejor a las 8")
    assert no_day_yet.day is None and not no_day_yet.day_mentioned


def test_a_message_about_no_moment_changes_nothing() -> None:
    previous = understand_when("el viernes a las 7", NOW, TZ)
    for text in ("ok", "dale, gracias", "👍", "bono de 10"):
        assert merge_correction(previous, understand_when(text, NOW, TZ)) == previous


def test_a_range_then_a_day_in_it() -> None:
    merged = _merge("el finde a las 10", "el sábado")
    assert (merged.day, merged.day_range, merged.times) == (SATURDAY, None, (time(10, 0),))


def test_same_time_without_an_earlier_time_stays_a_question() -> None:
    merged = _merge("el viernes", "a la misma hora")
    assert merged.day == FRIDAY and merged.same_time and not merged.times


def test_answering_the_question_clears_it() -> None:
    asked_day = merge_correction(understand_when("el viernes a las 7pm", NOW, TZ), understand_when("otro día", NOW, TZ))
    answered = merge_correction(asked_day, understand_when("el lunes", NOW, TZ))
    assert (answered.day, answered.times, answered.other_day) == (MONDAY, (time(19, 0),), False)
    asked_time = _merge("el viernes a las 7pm", "otro horario")
    answered_time = merge_correction(asked_time, understand_when("a las 8 pm", NOW, TZ))
    assert (answered_time.day, answered_time.times, answered_time.other_day) == (FRIDAY, (time(20, 0),), False)


def test_a_refused_day_in_a_correction_asks_for_another() -> None:
    merged = _merge("el viernes a las 7pm", "el viernes no puedo")
    assert merged.day is None and merged.other_day and merged.times == (time(19, 0),)
