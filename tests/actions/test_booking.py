"""agendar_cita: the form's validation against the live schedule (Spanish dates), the taken-slot
path with the 3 nearest alternatives, confirmation, the 409 race, and registering unknown numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict
from zoneinfo import ZoneInfo

from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ActionAgendarCita, ActionAskHorario, ValidateAgendarForm
from actions.services import Services
from rasa_project.booking_api import BookingApiClient
from tests.actions.support import ANA, LUCIA, TZ, UNKNOWN, make_tracker, slot_events
from tests.support.booking_sandbox import Sandbox

SPANISH_DAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]


def spanish_day(sandbox: Sandbox) -> str:
    """How a client names the full slot's day: 'mañana' or the weekday."""
    day = sandbox.full_slot_day
    today = datetime.now(ZoneInfo(TZ)).date()
    return "mañana" if day == today + timedelta(days=1) else f"el {SPANISH_DAYS[day.weekday()]}"


async def validate(services: Services, domain: Dict[str, Any], **tracker: Any) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await ValidateAgendarForm(services).run(dispatcher, make_tracker(**tracker), domain)
    return dispatcher, slot_events(events)


async def test_full_slot_offers_three_nearest_free_ones_or_the_waitlist(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    when = f"{spanish_day(sandbox)} a las 6"  # 18:00, the seeded full pilates class
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "pilates", "horario": when},
        active_loop="agendar_form", requested_slot="horario",
    )
    assert slots["horario"] is None
    assert slots["lugar_lleno"] == str(sandbox.full_slot_id)  # what "avísame" joins
    message = dispatcher.messages[-1]
    assert message["template_name"] == "utter_horario_lleno"
    assert "te aviso si se libera" in message["text"]
    *alternatives, waitlist = [b["payload"] for b in message["buttons"]]
    assert len(alternatives) == 3
    assert all(p.startswith('/agendar_cita{"servicio": "pilates", "slot_id": ') for p in alternatives)
    assert str(sandbox.full_slot_id) not in "".join(alternatives)
    assert waitlist == f'/unirse_lista_espera{{"lugar_lleno": "{sandbox.full_slot_id}"}}'


async def test_an_hour_the_class_is_not_given_says_so_and_offers_the_nearest(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    """Pilates runs at 7, 9, 18 and 19 (the seed): at 8 there is no class at all, not a full one."""
    when = f"{spanish_day(sandbox)} a las 8 de la mañana"
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "pilates", "horario": when},
        active_loop="agendar_form", requested_slot="horario",
    )
    assert slots["horario"] is None and not slots.get("lugar_lleno")
    message = dispatcher.messages[-1]
    assert message["template_name"] == "utter_horario_sin_clase", dispatcher.messages
    assert "no hay Pilates Reformer" in message["text"] and "no hay lugar" not in message["text"]
    assert len(message["buttons"]) == 3
    assert all(b["payload"].startswith('/agendar_cita{"servicio": "pilates", "slot_id": ') for b in message["buttons"])


def as_bot_events(dispatcher: CollectingDispatcher) -> list:
    """The validator's messages as Rasa logs them: text apart, every other key in the metadata."""
    return [{"event": "bot", "text": m.get("text"),
             "metadata": {k: v for k, v in m.items() if k not in ("text", "buttons", "image", "custom")}}
            for m in dispatcher.messages]


async def test_time_is_not_asked_again_right_after_the_alternatives(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    slots = {"servicio": "pilates", "horario": f"{spanish_day(sandbox)} a las 6"}
    validated, _ = await validate(services, domain, slots=slots, active_loop="agendar_form",
                                  requested_slot="horario")
    after_offer = make_tracker(slots=slots, active_loop="agendar_form", requested_slot="horario")
    after_offer.events.extend(as_bot_events(validated))
    silent, asked = CollectingDispatcher(), CollectingDispatcher()

    await ActionAskHorario(services).run(silent, after_offer, domain)
    await ActionAskHorario(services).run(asked, make_tracker(active_loop="agendar_form"), domain)

    assert validated.messages[-1]["template_name"] == "utter_horario_lleno"  # the full class: alternatives + waitlist
    assert silent.messages == []
    assert [m["response"] for m in asked.messages] == ["utter_ask_horario"]


async def test_free_slot_is_accepted_with_its_description(services: Services, domain: dict, sandbox: Sandbox) -> None:
    when = f"{spanish_day(sandbox)} a las 7 de la tarde"
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "pilates", "horario": when},
        active_loop="agendar_form", requested_slot="horario",
    )
    assert slots["horario"].isdigit() and "19:00" in slots["horario_texto"]
    assert slots["servicio_nombre"] == "Pilates Reformer" and dispatcher.messages == []
    assert slots["requested_slot"] == "confirmar_reserva"


async def test_day_without_time_lists_the_free_hours(services: Services, domain: dict, sandbox: Sandbox) -> None:
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "yoga", "horario": spanish_day(sandbox)},
        active_loop="agendar_form", requested_slot="horario",
    )
    assert slots["horario"] is None
    assert dispatcher.messages[-1]["template_name"] == "utter_horario_falta_hora"
    assert "08:00 y 19:00" in dispatcher.messages[-1]["text"]


async def test_gibberish_time_is_a_validation_error(services: Services, domain: dict) -> None:
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "yoga", "horario": "cuando puedas jaja"},
        active_loop="agendar_form", requested_slot="horario",
    )
    assert slots["horario"] is None
    assert dispatcher.messages[-1]["error"] == {"type": "validation.fecha"}


async def test_unknown_service_lists_the_real_ones(services: Services, domain: dict) -> None:
    dispatcher, slots = await validate(
        services, domain, slots={"servicio": "zumba"}, active_loop="agendar_form", requested_slot="servicio",
    )
    assert slots["servicio"] is None
    assert "Pilates Reformer" in dispatcher.messages[-1]["text"]


async def test_time_before_service_is_checked_once_the_service_is_known(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    when = f"{spanish_day(sandbox)} a las 7 de la tarde"
    _, slots = await validate(services, domain, slots={"horario": when}, active_loop="agendar_form")
    assert slots["horario"] == when and slots["requested_slot"] == "servicio"
    tracker_slots = {"horario": when, "servicio": "pilates"}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"servicio": "pilates"}, active_loop="agendar_form", requested_slot="servicio")
    tracker.slots.update(tracker_slots)
    events = await ValidateAgendarForm(services).run(dispatcher, tracker, domain)
    assert slot_events(events)["horario"].isdigit()


async def test_known_clients_are_not_asked_to_register(services: Services, domain: dict) -> None:
    _, slots = await validate(services, domain, slots={"cliente_registrado": True}, active_loop="agendar_form")
    assert slots["requested_slot"] == "servicio"
    _, slots = await validate(services, domain, slots={"cliente_registrado": False}, active_loop="agendar_form")
    assert "requested_slot" not in slots  # Rasa's form asks the domain's first slot: nombre_registro


async def test_confirmed_booking_is_made_and_counted(
    services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    slots = await api.list_slots(sandbox.full_slot_day, sandbox.full_slot_day, "yoga")
    tracker = make_tracker(LUCIA, slots={"servicio": "yoga", "horario": str(slots[0].id), "confirmar_reserva": True})
    dispatcher = CollectingDispatcher()
    events = await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    message = dispatcher.messages[-1]
    assert message["event"] == "booking_created" and message["text"].startswith("✅ ¡Listo! Tu reserva RSV-")
    assert [b.slot_id for b in await api.list_bookings(LUCIA)] == [slots[0].id]
    assert slot_events(events)["horario"] is None  # the form's slots are cleared for next time


async def test_not_confirmed_books_nothing(services: Services, domain: dict, api: BookingApiClient) -> None:
    tracker = make_tracker(LUCIA, slots={"servicio": "yoga", "horario": "1", "confirmar_reserva": False})
    dispatcher = CollectingDispatcher()
    await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["template_name"] == "utter_operacion_cancelada"
    assert await api.list_bookings(LUCIA) == []


async def test_409_race_offers_other_slots(services: Services, domain: dict, sandbox: Sandbox) -> None:
    tracker = make_tracker(LUCIA, slots={
        "servicio": "pilates", "horario": str(sandbox.full_slot_id), "confirmar_reserva": True,
        "servicio_nombre": "Pilates Reformer"})
    dispatcher = CollectingDispatcher()
    await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    message = dispatcher.messages[-1]
    assert message["template_name"] == "utter_reserva_ganada_por_otro"
    assert message["error"]["type"] == "booking_api.conflict" and message["error"]["code"] == "slot_full"
    assert len(message["buttons"]) == 3


async def test_booking_a_slot_already_held_says_so_and_books_nothing_more(
    services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    """A double tap, or a turn retried after a crash whose first try had booked: 409 already_booked."""
    slots = await api.list_slots(sandbox.full_slot_day, sandbox.full_slot_day, "yoga")
    held = await api.create_booking(LUCIA, slots[0].id)
    tracker = make_tracker(LUCIA, slots={"servicio": "yoga", "horario": str(slots[0].id), "confirmar_reserva": True,
                                         "servicio_nombre": "Yoga", "horario_texto": "martes 1 a las 9:00"})
    dispatcher = CollectingDispatcher()
    await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    message = dispatcher.messages[-1]
    assert message["template_name"] == "utter_reserva_ya_existente"
    assert message["text"] == "✅ Ya tenías reservado Yoga: martes 1 a las 9:00. No hace falta reservarlo otra vez."
    assert message["facts"]["booking"]["id"] == held.id and message["event"] == "booking_already_held"
    assert [b.id for b in await api.list_bookings(LUCIA)] == [held.id]


async def test_unknown_number_is_registered_then_booked(
    services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    slots = await api.list_slots(sandbox.full_slot_day, sandbox.full_slot_day, "funcional")
    tracker = make_tracker(UNKNOWN, slots={
        "cliente_registrado": False, "nombre_registro": "Sofía Ruiz", "email_registro": "sofia@example.com",
        "servicio": "funcional", "horario": str(slots[0].id), "confirmar_reserva": True})
    dispatcher = CollectingDispatcher()
    events = await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    assert [m["template_name"] for m in dispatcher.messages] == ["utter_cliente_registrado", "utter_reserva_confirmada"]
    assert slot_events(events)["cliente_registrado"] is True
    assert (await api.get_client(UNKNOWN)).name == "Sofía Ruiz"
    assert len(await api.list_bookings(UNKNOWN)) == 1


async def test_booking_when_the_api_is_down(services: Services, domain: dict, sandbox: Sandbox) -> None:
    await sandbox.fault(status=503, count=10, path_prefix="/booking")
    tracker = make_tracker(ANA, slots={"servicio": "yoga", "horario": "3", "confirmar_reserva": True})
    dispatcher = CollectingDispatcher()
    await ActionAgendarCita(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["error"]["type"] == "booking_api.unavailable"


async def test_service_and_moment_the_nlu_missed_are_read_from_the_text(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    """No entity at all (a long message with typos): the service and the moment come from the text itself."""
    day = sandbox.full_slot_day + timedelta(days=2)
    if day.weekday() == 6:
        day += timedelta(days=1)
    text = f"kiero sacar turno pa pilates el {SPANISH_DAYS[day.weekday()]} a las 9 d la mañana"
    dispatcher, slots = await validate(services, domain, text=text, intent="agendar_cita", active_loop="agendar_form")
    assert slots["servicio"] == "pilates" and slots["horario"].isdigit(), dispatcher.messages
    assert "09:00" in slots["horario_texto"] and SPANISH_DAYS[day.weekday()] in slots["horario_texto"]


async def test_a_name_that_is_a_month_is_not_a_moment(services: Services, domain: dict) -> None:
    _, slots = await validate(services, domain, text="Julio Pérez", intent="informar", active_loop="agendar_form",
                              slots={"cliente_registrado": False}, requested_slot="nombre_registro")
    assert "horario" not in slots


async def test_the_question_is_not_asked_once_the_moment_is_settled(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskHorario(services).run(dispatcher, make_tracker(slots={"horario": "12"}, active_loop="agendar_form"),
                                         domain)
    assert dispatcher.messages == []
