"""cancelar_cita, pagar_servicio and actualizar_perfil against the booking sandbox."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.cancelling import (
    ActionAskReservaACancelar,
    ActionCancelarCita,
    ActionPrepararCancelacion,
    ValidateCancelarForm,
)
from actions.packages import ActionAskPaquete, ActionPagarServicio, ValidatePagarForm
from actions.profile import ActionActualizarPerfil, ValidatePerfilForm
from actions.services import Services
from rasa_project.booking_api import BookingApiClient
from tests.actions.support import ANA, LUCIA, MARTIN, make_tracker, slot_events
from tests.support.booking_sandbox import Sandbox


async def test_cancelling_with_several_bookings_lists_them(
    services: Services, domain: dict, sandbox: Sandbox
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionPrepararCancelacion(services).run(dispatcher, make_tracker(ANA), domain)
    assert slot_events(events) == {"reservas_cancelables": True}
    await ActionAskReservaACancelar(services).run(dispatcher, make_tracker(ANA), domain)
    payloads = [b["payload"] for b in dispatcher.messages[-1]["buttons"]]
    assert payloads == [f'/informar{{"booking_id": "{b}"}}' for b in sandbox.bookings_of(ANA)]


async def test_cancelling_with_one_booking_preselects_it(services: Services, domain: dict, sandbox: Sandbox) -> None:
    events = await ActionPrepararCancelacion(services).run(CollectingDispatcher(), make_tracker(MARTIN), domain)
    slots = slot_events(events)
    assert slots["reserva_a_cancelar"] == sandbox.bookings_of(MARTIN)[0]
    assert "Entrenamiento Funcional" in slots["reserva_texto"]


async def test_cancelling_without_bookings(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionPrepararCancelacion(services).run(dispatcher, make_tracker(LUCIA), domain)
    assert slot_events(events) == {"reservas_cancelables": False}
    assert dispatcher.messages[-1]["template_name"] == "utter_sin_reservas"


async def test_choice_by_number_name_or_id(services: Services, domain: dict, sandbox: Sandbox) -> None:
    first, second = sandbox.bookings_of(ANA)
    for said, expected in [("2", second), ("la segunda", second), (first, first), ("la de yoga", None)]:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(ANA, slots={"reserva_a_cancelar": said}, active_loop="cancelar_form",
                               requested_slot="reserva_a_cancelar")
        slots = slot_events(await ValidateCancelarForm(services).run(dispatcher, tracker, domain))
        if expected:
            assert slots["reserva_a_cancelar"] == expected, said
    bookings = {b.id: b for b in await services.booking_api.list_bookings(ANA)}
    yoga = next(i for i, b in bookings.items() if b.service_code == "yoga")
    assert slots["reserva_a_cancelar"] == yoga


async def test_unknown_choice_is_a_validation_error(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, slots={"reserva_a_cancelar": "la del martes que viene de boxeo"},
                           active_loop="cancelar_form", requested_slot="reserva_a_cancelar")
    slots = slot_events(await ValidateCancelarForm(services).run(dispatcher, tracker, domain))
    assert slots["reserva_a_cancelar"] is None and dispatcher.messages[-1]["error"] == {"type": "validation.reserva"}


async def test_confirmed_cancellation_frees_the_slot(
    services: Services, domain: dict, sandbox: Sandbox, api: BookingApiClient
) -> None:
    booking_id = sandbox.bookings_of(ANA)[0]
    booking = next(b for b in await api.list_bookings(ANA) if b.id == booking_id)
    day = booking.starts_at.date()
    before = next(s for s in await api.list_slots(day, day, booking.service_code, False) if s.id == booking.slot_id)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, slots={"reserva_a_cancelar": booking_id, "confirmar_cancelacion": True})
    await ActionCancelarCita(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["event"] == "booking_cancelled" and booking_id in dispatcher.messages[-1]["text"]
    after = next(s for s in await api.list_slots(day, day, booking.service_code, False) if s.id == booking.slot_id)
    assert after.available == before.available + 1
    assert booking_id not in [b.id for b in await api.list_bookings(ANA)]


async def test_cancelling_twice_says_so(services: Services, domain: dict, sandbox: Sandbox) -> None:
    booking_id = sandbox.bookings_of(ANA)[0]
    await services.booking_api.cancel_booking(ANA, booking_id)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, slots={"reserva_a_cancelar": booking_id, "confirmar_cancelacion": True})
    await ActionCancelarCita(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["template_name"] == "utter_reserva_ya_cancelada"


async def test_paying_lists_packages_then_sends_the_link(
    services: Services, domain: dict, api: BookingApiClient
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskPaquete(services).run(dispatcher, make_tracker(LUCIA), domain)
    assert [b["payload"] for b in dispatcher.messages[-1]["buttons"]][2] == '/informar{"paquete": "bono10"}'
    tracker = make_tracker(LUCIA, slots={"paquete": "el de 10 clases"}, active_loop="pagar_form",
                           requested_slot="paquete")
    slots = slot_events(await ValidatePagarForm(services).run(CollectingDispatcher(), tracker, domain))
    assert slots["paquete"] == "bono10" and slots["paquete_texto"] == "Bono 10 clases por $1,450.00 MXN"
    tracker = make_tracker(LUCIA, slots={"paquete": "bono10", "confirmar_pago": True})
    await ActionPagarServicio(services).run(dispatcher, tracker, domain)
    message = dispatcher.messages[-1]
    purchase = (await api.purchase_history(LUCIA))[0]
    assert message["event"] == "purchase_created" and purchase.payment_url in message["text"]
    assert purchase.status == "pending" and "$1,450.00 MXN" in message["text"]


async def test_paying_again_for_the_same_package_resends_the_pending_link(
    services: Services, domain: dict, api: BookingApiClient
) -> None:
    """A double tap, or a turn retried after a crash: one pending purchase, its link sent again."""
    first, again, other = CollectingDispatcher(), CollectingDispatcher(), CollectingDispatcher()
    for dispatcher, package in ((first, "bono10"), (again, "bono10"), (other, "bono5")):
        tracker = make_tracker(LUCIA, slots={"paquete": package, "confirmar_pago": True})
        await ActionPagarServicio(services).run(dispatcher, tracker, domain)
    history = await api.purchase_history(LUCIA)
    assert sorted(p.package_code for p in history) == ["bono10", "bono5"]
    bono10 = next(p for p in history if p.package_code == "bono10")
    assert first.messages[-1]["event"] == "purchase_created"
    assert again.messages[-1]["event"] == "purchase_link_resent"
    assert again.messages[-1]["text"] == first.messages[-1]["text"]
    assert bono10.payment_url in again.messages[-1]["text"]
    assert other.messages[-1]["event"] == "purchase_created"


async def test_profile_email_is_validated_then_saved(services: Services, domain: dict, api: BookingApiClient) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(ANA, slots={"campo_perfil": "email", "valor_perfil": "ana@@mal"},
                           active_loop="perfil_form", requested_slot="valor_perfil")
    slots = slot_events(await ValidatePerfilForm(services).run(dispatcher, tracker, domain))
    assert slots["valor_perfil"] is None and dispatcher.messages[-1]["error"] == {"type": "validation.email"}
    tracker = make_tracker(ANA, slots={"campo_perfil": "email", "valor_perfil": "Ana.Nueva@Gmail.com "},
                           active_loop="perfil_form", requested_slot="valor_perfil")
    slots = slot_events(await ValidatePerfilForm(services).run(CollectingDispatcher(), tracker, domain))
    assert slots["valor_perfil"] == "ana.nueva@gmail.com"
    tracker = make_tracker(ANA, slots={"campo_perfil": "email", "valor_perfil": "ana.nueva@gmail.com",
                                       "confirmar_perfil": True})
    await ActionActualizarPerfil(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["event"] == "profile_updated"
    assert (await api.get_client(ANA)).email == "ana.nueva@gmail.com"


async def test_profile_422_from_the_api_is_a_validation_reply(services: Services, domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    # a value that skipped the form's validation (e.g. set by another path) is refused by the API
    tracker = make_tracker(ANA, slots={"campo_perfil": "email", "valor_perfil": "ana-sin-arroba",
                                       "confirmar_perfil": True})
    await ActionActualizarPerfil(services).run(dispatcher, tracker, domain)
    assert dispatcher.messages[-1]["error"] == {"type": "validation.email"}
