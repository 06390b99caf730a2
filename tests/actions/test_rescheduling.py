"""reprogramar_cita against the booking sandbox: which booking (one, one of several, named by service or
day), the new moment read with the booking as context, a taken slot, the policy window, corrections, and
the order of the two writes (the new place first, so a failure never leaves the client with nothing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Dict, List
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.rescheduling import (
    ActionAskReservaAMover,
    ActionPrepararReprogramacion,
    ActionReprogramarCita,
    ValidateReprogramarForm,
)
from actions.services import Services
from rasa_project.booking_api import Booking, BookingApiClient
from rasa_project.phrasing import Phraser
from tests.actions.support import ANA, LUCIA, MARTIN, TZ, make_tracker, slot_events
from tests.support.booking_sandbox import Sandbox

WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]


@pytest.fixture
async def free_services(services: Services) -> AsyncIterator[Services]:
    """The action services with the change policy off, so tests do not depend on the hour they run."""
    settings = replace(services.settings, change_notice_hours=0)
    yield Services(settings, services.booking_api, Phraser.from_settings(settings))


async def bookings(api: BookingApiClient, phone: str) -> List[Booking]:
    return [b for b in await api.list_bookings(phone) if b.is_active]


def local(booking: Booking) -> datetime:
    return booking.starts_at.astimezone(ZoneInfo(TZ))


async def validate(services: Services, domain: Dict[str, Any], **tracker: Any) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await ValidateReprogramarForm(services).run(dispatcher, make_tracker(**tracker), domain)
    return dispatcher, slot_events(events)


async def test_the_only_booking_is_preselected(free_services: Services, domain: dict, sandbox: Sandbox) -> None:
    events = await ActionPrepararReprogramacion(free_services).run(
        CollectingDispatcher(), make_tracker(MARTIN, text="quiero cambiar mi clase", intent="reprogramar_cita"), domain)
    slots = slot_events(events)
    assert slots["reservas_movibles"] is True and slots["reserva_a_mover"] == sandbox.bookings_of(MARTIN)[0]


async def test_one_of_several_is_named_by_service_or_asked(free_services: Services, domain: dict,
                                                            api: BookingApiClient) -> None:
    masaje = next(b for b in await bookings(api, ANA) if b.service_code == "masaje")
    named = slot_events(await ActionPrepararReprogramacion(free_services).run(
        CollectingDispatcher(), make_tracker(ANA, text="cambia mi masaje para otro día", intent="reprogramar_cita",
                                             entities=[{"entity": "servicio", "value": "masaje", "start": 10}]),
        domain))
    assert named["reserva_a_mover"] == masaje.id
    unnamed = slot_events(await ActionPrepararReprogramacion(free_services).run(
        CollectingDispatcher(), make_tracker(ANA, text="quiero reagendar", intent="reprogramar_cita"), domain))
    assert "reserva_a_mover" not in unnamed
    dispatcher = CollectingDispatcher()
    await ActionAskReservaAMover(free_services).run(dispatcher, make_tracker(ANA), domain)
    assert len(dispatcher.messages[-1]["buttons"]) == 2


async def test_the_booking_named_by_its_day(free_services: Services, domain: dict, api: BookingApiClient) -> None:
    yoga = next(b for b in await bookings(api, ANA) if b.service_code == "yoga")
    said = f"la del {WEEKDAYS[local(yoga).weekday()]}"
    _, slots = await validate(free_services, domain, sender=ANA, text=said, slots={"reserva_a_mover": said},
                              active_loop="reprogramar_form", requested_slot="reserva_a_mover")
    assert slots["reserva_a_mover"] == yoga.id


async def test_a_time_alone_keeps_the_bookings_day(
    free_services: Services, domain: dict, api: BookingApiClient
) -> None:
    """ "muéveme la de yoga a las 7": the booking is 08:00; 19:00 the same day is the yoga class at 7."""
    yoga = next(b for b in await bookings(api, ANA) if b.service_code == "yoga")
    _, slots = await validate(free_services, domain, sender=ANA, text="a las 7",
                              slots={"reserva_a_mover": yoga.id, "nuevo_horario": "a las 7"},
                              active_loop="reprogramar_form", requested_slot="nuevo_horario")
    new_slot = next(s for s in await api.list_slots(local(yoga).date(), local(yoga).date(), "yoga", False)
                    if s.id == int(slots["nuevo_horario"]))
    assert new_slot.starts_at.astimezone(ZoneInfo(TZ)).hour == 19
    assert new_slot.starts_at.astimezone(ZoneInfo(TZ)).date() == local(yoga).date()


async def test_another_day_at_the_same_time(free_services: Services, domain: dict, api: BookingApiClient) -> None:
    yoga = next(b for b in await bookings(api, ANA) if b.service_code == "yoga")
    target = local(yoga).date() + timedelta(days=1)
    if target.weekday() == 6:
        target += timedelta(days=1)
    said = f"el {WEEKDAYS[target.weekday()]} {target.day} a la misma hora"
    _, slots = await validate(free_services, domain, sender=ANA, text=said,
                              slots={"reserva_a_mover": yoga.id, "nuevo_horario": said},
                              active_loop="reprogramar_form", requested_slot="nuevo_horario")
    new_slot = next(s for s in await api.list_slots(target, target, "yoga", False)
                    if s.id == int(slots["nuevo_horario"]))
    assert new_slot.starts_at.astimezone(ZoneInfo(TZ)) == datetime.combine(target, local(yoga).time(), ZoneInfo(TZ))


async def test_a_taken_slot_offers_alternatives_and_keeps_the_booking(
    free_services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    await api.register_client(LUCIA.replace("34", "35"), "Otra Persona", "otra@example.com")
    pilates = await api.list_slots(sandbox.full_slot_day, sandbox.full_slot_day, "pilates", False)
    mine = await api.create_booking(LUCIA, next(s for s in pilates if s.available > 0).id)
    said = f"el {WEEKDAYS[sandbox.full_slot_day.weekday()]} {sandbox.full_slot_day.day} a las 6 de la tarde"
    dispatcher, slots = await validate(free_services, domain, sender=LUCIA, text=said,
                                       slots={"reserva_a_mover": mine.id, "nuevo_horario": said},
                                       active_loop="reprogramar_form", requested_slot="nuevo_horario")
    assert slots["nuevo_horario"] is None
    assert dispatcher.messages[-1]["template_name"] == "utter_horario_no_disponible"
    assert all(b["payload"].startswith('/informar{"servicio": "pilates", "slot_id": ')
               for b in dispatcher.messages[-1]["buttons"])
    assert [b.id for b in await bookings(api, LUCIA)] == [mine.id]


async def test_a_correction_at_the_confirmation_changes_the_moment(
    free_services: Services, domain: dict, api: BookingApiClient
) -> None:
    yoga = next(b for b in await bookings(api, ANA) if b.service_code == "yoga")
    _, slots = await validate(free_services, domain, sender=ANA, text="mejor a las 7", intent="negar",
                              slots={"reserva_a_mover": yoga.id, "nuevo_horario": "a las 7",
                                     "confirmar_cambio": False},
                              active_loop="reprogramar_form", requested_slot="confirmar_cambio")
    assert slots["confirmar_cambio"] is None and slots["nuevo_horario"].isdigit()


async def test_inside_the_policy_window_nothing_is_called(services: Services, domain: dict,
                                                         api: BookingApiClient, sandbox: Sandbox) -> None:
    strict = Services(replace(services.settings, change_notice_hours=24 * 60), services.booking_api,
                      services.phraser)
    martin = sandbox.bookings_of(MARTIN)[0]
    dispatcher, slots = await validate(strict, domain, sender=MARTIN, text="1", slots={"reserva_a_mover": martin},
                                       active_loop="reprogramar_form", requested_slot="reserva_a_mover")
    assert dispatcher.messages[-1]["template_name"] == "utter_cambio_fuera_de_plazo"
    assert slots["plazo_vencido"] is True and slots["confirmar_cambio"] is False
    await sandbox.clear_requests()
    final = CollectingDispatcher()
    await ActionReprogramarCita(strict).run(final, make_tracker(MARTIN, slots=slots), domain)
    assert final.messages == [] and await sandbox.requests("/booking") == []
    assert [b.id for b in await bookings(api, MARTIN)] == [martin]


async def test_confirmed_change_books_the_new_place_then_cancels_the_old(
    free_services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    old = (await bookings(api, MARTIN))[0]
    day = local(old).date()
    evening = next(s for s in await api.list_slots(day, day, "funcional")
                   if s.starts_at.astimezone(ZoneInfo(TZ)).hour == 20)
    tracker = make_tracker(MARTIN, slots={"reserva_a_mover": old.id, "nuevo_horario": str(evening.id),
                                          "confirmar_cambio": True})
    await sandbox.clear_requests()
    dispatcher = CollectingDispatcher()
    await ActionReprogramarCita(free_services).run(dispatcher, tracker, domain)
    message = dispatcher.messages[-1]
    assert message["event"] == "booking_rescheduled" and old.id in message["text"]
    assert [(b.slot_id, b.status) for b in await bookings(api, MARTIN)] == [(evening.id, "confirmed")]
    log = [(r["method"], r["path"]) for r in (await sandbox.http.get("/_sandbox/requests")).json()["requests"]]
    assert log.index(("POST", "/booking")) < log.index(("PATCH", f"/client/bookings/{old.id}"))
    # a retried turn runs the action again: the same result, nothing doubled
    again = CollectingDispatcher()
    await ActionReprogramarCita(free_services).run(again, tracker, domain)
    assert again.messages[-1]["event"] == "booking_rescheduled"
    assert [b.slot_id for b in await bookings(api, MARTIN)] == [evening.id]


async def test_origin_and_destination_roles_split_one_message(
    free_services: Services, domain: dict, api: BookingApiClient
) -> None:
    """ "cambia la del <día> para el <otro día>": the origin names the booking, the destination alone is the new
    day, and the booking's time is kept."""
    yoga = next(b for b in await bookings(api, ANA) if b.service_code == "yoga")
    target = local(yoga).date() + timedelta(days=1)
    if target.weekday() == 6:
        target += timedelta(days=1)
    origin, destination = f"la del {WEEKDAYS[local(yoga).weekday()]}", f"para el {WEEKDAYS[target.weekday()]}"
    text = f"cambia {origin} {destination}"
    entities = [{"entity": "fecha_hora", "role": "origen", "value": origin, "start": 7},
                {"entity": "fecha_hora", "role": "destino", "value": destination, "start": 8 + len(origin)}]
    _, slots = await validate(free_services, domain, sender=ANA, text=text, entities=entities,
                              slots={"reserva_a_mover": yoga.id, "nuevo_horario": destination},
                              active_loop="reprogramar_form", requested_slot="nuevo_horario")
    new_slot = next(s for s in await api.list_slots(target, target, "yoga", False)
                    if s.id == int(slots["nuevo_horario"]))
    assert new_slot.starts_at.astimezone(ZoneInfo(TZ)) == datetime.combine(target, local(yoga).time(), ZoneInfo(TZ))
