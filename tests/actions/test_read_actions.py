"""Read-only actions against the booking sandbox over real HTTP, with their failure paths."""

from __future__ import annotations

from typing import Any, Dict

from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionAyuda, ActionSaludo
from actions.packages import ActionConsultarHistorial, ActionConsultarPaquetes
from actions.schedule import ActionConsultarHorarios
from actions.services import Services
from actions.session import ActionSessionStart
from actions.status import ActionConsultaEstado
from tests.actions.support import ANA, LUCIA, UNKNOWN, make_tracker, slot_events, texts
from tests.support.booking_sandbox import Sandbox


async def run(action: Any, tracker: Any, domain: Dict[str, Any]) -> tuple[CollectingDispatcher, list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, events


async def test_session_start_knows_the_client(services: Services, domain: dict) -> None:
    _, events = await run(ActionSessionStart(services), make_tracker(ANA), domain)
    assert slot_events(events) == {"nombre_cliente": "Ana López", "cliente_registrado": True}
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


async def test_session_start_with_an_unknown_number(services: Services, domain: dict) -> None:
    _, events = await run(ActionSessionStart(services), make_tracker(UNKNOWN), domain)
    assert slot_events(events) == {"cliente_registrado": False}


async def test_session_start_survives_an_api_outage(services: Services, domain: dict, sandbox: Sandbox) -> None:
    await sandbox.fault(status=500, count=10, path_prefix="/client/me")
    _, events = await run(ActionSessionStart(services), make_tracker(ANA), domain)
    assert slot_events(events) == {}
    assert [e["event"] for e in events] == ["session_started", "action"]


async def test_greeting_uses_the_first_name(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionSaludo(services), make_tracker(slots={"nombre_cliente": "Ana López"}), domain)
    assert texts(dispatcher)[0].startswith("¡Hola, Ana!")
    dispatcher, _ = await run(ActionSaludo(services), make_tracker(UNKNOWN), domain)
    assert texts(dispatcher)[0].startswith("¡Hola!")


async def test_help_lists_numbered_options(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionAyuda(services), make_tracker(), domain)
    buttons = dispatcher.messages[0]["buttons"]
    assert len(buttons) == 8 and buttons[0]["payload"] == "/agendar_cita"


async def test_status_lists_upcoming_bookings(services: Services, domain: dict, sandbox: Sandbox) -> None:
    dispatcher, _ = await run(ActionConsultaEstado(services), make_tracker(ANA), domain)
    message = dispatcher.messages[0]
    for booking_id in sandbox.bookings_of(ANA):
        assert booking_id in message["text"]
    assert [b["id"] for b in message["facts"]["bookings"]] == sandbox.bookings_of(ANA)
    assert message["template_name"] == "utter_reservas_listado"
    assert message["phrasing"]["source"] == "template" and message["phrasing"]["reason"] == "no_api_key"


async def test_status_without_bookings_and_for_unknown_numbers(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionConsultaEstado(services), make_tracker(LUCIA), domain)
    assert dispatcher.messages[0]["template_name"] == "utter_sin_reservas"
    dispatcher, events = await run(ActionConsultaEstado(services), make_tracker(UNKNOWN), domain)
    assert dispatcher.messages[0]["template_name"] == "utter_cliente_no_registrado"
    assert slot_events(events) == {"cliente_registrado": False}


async def test_status_outside_whatsapp_explains_itself(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionConsultaEstado(services), make_tracker("4f2a-shell-session"), domain)
    assert dispatcher.messages[0]["template_name"] == "utter_sin_telefono"


async def test_api_500_gets_a_polite_reply_and_a_recorded_error(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    await sandbox.fault(status=500, count=10, path_prefix="/client/bookings")
    dispatcher, events = await run(ActionConsultaEstado(services), make_tracker(ANA), domain)
    assert events == []
    message = dispatcher.messages[0]
    assert "problema técnico" in message["text"]
    assert message["error"]["type"] == "booking_api.unavailable" and message["error"]["during"] == "list_bookings"


async def test_api_timeout_gets_a_polite_reply(services: Services, domain: dict, sandbox: Sandbox) -> None:
    await sandbox.fault(status=None, delay_ms=2500, count=10, path_prefix="/packages")
    dispatcher, _ = await run(ActionConsultarPaquetes(services), make_tracker(ANA), domain)
    assert dispatcher.messages[0]["error"]["type"] == "booking_api.unavailable"


async def test_packages_with_prices(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionConsultarPaquetes(services), make_tracker(ANA), domain)
    text = texts(dispatcher)[0]
    assert "Bono 10 clases: $1,450.00 MXN (10 clases, vigencia 60 días)" in text
    assert "Mensual ilimitado: $1,900.00 MXN (clases ilimitadas" in text


async def test_purchase_history(services: Services, domain: dict) -> None:
    dispatcher, _ = await run(ActionConsultarHistorial(services), make_tracker(ANA), domain)
    assert "PAY-2001" in texts(dispatcher)[0] and "pagado" in texts(dispatcher)[0]
    dispatcher, _ = await run(ActionConsultarHistorial(services), make_tracker(LUCIA), domain)
    assert dispatcher.messages[0]["template_name"] == "utter_historial_vacio"


async def test_schedule_for_a_service_on_a_day(services: Services, domain: dict, sandbox: Sandbox) -> None:
    day = sandbox.full_slot_day
    tracker = make_tracker(
        ANA, text="horarios de yoga", intent="consultar_horarios",
        entities=[{"entity": "servicio", "value": "yoga"},
                  {"entity": "fecha_hora", "value": f"el {day.day} de {day.strftime('%m')}"}],
    )
    dispatcher, _ = await run(ActionConsultarHorarios(services), tracker, domain)
    message = dispatcher.messages[0]
    assert message["template_name"] == "utter_horarios_listado"
    assert "Yoga Vinyasa: 08:00 y 19:00" in message["text"]
    assert {s["service"] for s in message["facts"]["slots"]} == {"yoga"}
