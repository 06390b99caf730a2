"""Which booking or offer an answer to a message the bot sent first is about, and the reminder's wording."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from actions.conversation import answers
from actions.reminders import SEND_ACTION, reminded_booking, reminder_buttons, reminder_when
from actions.slot_search import choose_slot
from actions.waitlist import OFFER_ACTION, offer_buttons, offered_entry, waitlist_button
from rasa_project.booking_api.models import Slot
from tests.actions.support import make_tracker

TZ = "America/Mexico_City"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo(TZ))  # a Wednesday


def _after(action: str) -> list:
    return [{"event": "action", "name": action}, {"event": "action", "name": "action_listen"}]


def test_reminder_when_names_today_tomorrow_or_the_day() -> None:
    assert reminder_when(datetime(2026, 12, 2, 19, 0, tzinfo=ZoneInfo(TZ)), NOW, TZ) == "hoy a las 19:00"
    assert reminder_when(datetime(2026, 12, 3, 8, 0, tzinfo=ZoneInfo(TZ)), NOW, TZ) == \
        "mañana jueves 3 de diciembre a las 08:00"
    assert reminder_when(datetime(2026, 12, 5, 9, 30, tzinfo=ZoneInfo(TZ)), NOW, TZ) == \
        "el sábado 5 de diciembre a las 09:30"
    # the booking API speaks UTC: the business zone decides "mañana"
    assert reminder_when(datetime(2026, 12, 3, 1, 0, tzinfo=ZoneInfo("UTC")), NOW, TZ) == "hoy a las 19:00"


def test_the_three_options_name_the_booking() -> None:
    assert [b["payload"] for b in reminder_buttons("RSV-7")] == [
        '/confirmar_asistencia{"booking_id": "RSV-7"}', '/cancelar_cita{"booking_id": "RSV-7"}',
        '/reprogramar_cita{"booking_id": "RSV-7"}']
    assert [b["payload"] for b in offer_buttons("12")] == [
        '/aceptar_lugar{"oferta_id": "12"}', '/rechazar_lugar{"oferta_id": "12"}']
    assert waitlist_button(31)["payload"] == '/unirse_lista_espera{"lugar_lleno": "31"}'


def test_an_answer_right_after_the_reminder_is_about_its_booking() -> None:
    tracker = make_tracker(text="sí", intent="afirmar", events=_after(SEND_ACTION), slots={"reserva_recordada": "R1"})
    assert answers(tracker, SEND_ACTION)
    assert reminded_booking(tracker) == "R1"


def test_a_later_answer_is_not_about_the_reminder_unless_it_names_the_booking() -> None:
    events = _after(SEND_ACTION) + [{"event": "user", "text": "hola"}, {"event": "action", "name": "action_saludo"},
                                    {"event": "action", "name": "action_listen"}]
    later = make_tracker(text="cancelar", intent="cancelar_cita", events=events, slots={"reserva_recordada": "R1"})
    assert not answers(later, SEND_ACTION)
    assert reminded_booking(later) is None
    tapped = make_tracker(text='/cancelar_cita{"booking_id": "R1"}', intent="cancelar_cita", events=events,
                          entities=[{"entity": "booking_id", "value": "R1"}])
    assert reminded_booking(tapped) == "R1"


def test_an_offer_answer_is_the_offer_just_sent_or_the_one_tapped() -> None:
    right_after = make_tracker(text="sí", intent="afirmar", events=_after(OFFER_ACTION), slots={"oferta_lugar": "9"})
    assert offered_entry(right_after) == "9"
    elsewhere = make_tracker(text="sí", intent="afirmar", events=_after("action_saludo"), slots={"oferta_lugar": "9"})
    assert offered_entry(elsewhere) is None
    tapped = make_tracker(text="/aceptar_lugar", intent="aceptar_lugar", entities=[{"entity": "oferta_id",
                                                                                    "value": "4"}])
    assert offered_entry(tapped) == "4"


def _slot(slot_id: int, hour: int, available: int) -> Slot:
    start = datetime(2026, 12, 4, hour, 0, tzinfo=ZoneInfo(TZ))
    return Slot(id=slot_id, service_code="yoga", service_name="Yoga", starts_at=start,
                ends_at=start.replace(hour=hour + 1), capacity=10, booked=10 - available, available=available,
                instructor="Ana")


def test_a_full_class_at_the_wanted_time_is_named_for_the_waitlist() -> None:
    slots = [_slot(1, 8, 0), _slot(2, 9, 3), _slot(3, 19, 1)]
    choice = choose_slot(slots, slots[0].starts_at, NOW)
    assert choice.slot is None and choice.full is not None and choice.full.id == 1
    assert [s.id for s in choice.alternatives] == [2, 3]
    free = choose_slot(slots, slots[1].starts_at, NOW)
    assert free.slot is not None and free.slot.id == 2 and free.full is None
    nothing_there = choose_slot(slots, slots[0].starts_at.replace(hour=12), NOW)
    assert nothing_there.full is None  # no class at that time: alternatives, no waitlist
