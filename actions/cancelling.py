"""cancelar_cita: list the upcoming bookings (numbered when more than one), confirm, cancel."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction, AssistantFormValidation
from actions.change_policy import within_notice
from actions.client_bookings import AskWhichBooking, booking_line, named_booking, upcoming
from actions.conversation import clear_form_slots
from actions.formatting import when_text
from actions.identity import client_phone
from actions.moments import heard_when, now_in
from actions.reminders import cancel_reminders, reminded_booking
from actions.waitlist import place_freed
from rasa_project.booking_api.errors import Conflict, NotFound


class ActionPrepararCancelacion(AssistantAction):
    """Looks up what can be cancelled; the form starts only when there is something."""

    def name(self) -> str:
        return "action_preparar_cancelacion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        nothing = [SlotSet("reservas_cancelables", False)]
        tz = self.services.settings.business_timezone
        result = await replier.for_client(lambda phone: upcoming(self.services, phone), during="list_bookings")
        if not result.ok:
            return nothing + result.events
        bookings = result.value
        if not bookings:
            await replier.say("utter_sin_reservas")
            return nothing
        events: List[EventType] = [SlotSet("reservas_cancelables", True)]
        reminded = reminded_booking(tracker)  # "2" / "cancelar" to a reminder: that booking
        chosen = next((b for b in bookings if b.id == reminded), bookings[0] if len(bookings) == 1 else None)
        if chosen is not None:
            events += [SlotSet("reserva_a_cancelar", chosen.id), SlotSet("reserva_texto", booking_line(chosen, tz))]
        return events


class ActionAskReservaACancelar(AskWhichBooking):
    """Asks which booking to cancel, as numbered options."""

    response = "utter_ask_reserva_a_cancelar"

    def name(self) -> str:
        return "action_ask_reserva_a_cancelar"

class ValidateCancelarForm(AssistantFormValidation):
    """Matches the client's answer ("2", "la de pilates", RSV-1001) to one of their bookings."""

    def name(self) -> str:
        return "validate_cancelar_form"

    async def validate_reserva_a_cancelar(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        tz = self.services.settings.business_timezone
        async with replier.calling_api("list_bookings") as call:
            bookings = await upcoming(self.services, client_phone(tracker) or "")
        if call.failed:
            return {"reserva_a_cancelar": None}
        now = now_in(tz)
        chosen = named_booking(str(value or ""), heard_when(tracker, now, tz), bookings, tz)
        if chosen is None:
            replier.validation_error("utter_reserva_no_encontrada", "reserva")
            return {"reserva_a_cancelar": None}
        notice = self.services.settings.change_notice_hours
        if within_notice(chosen, now, notice):
            await replier.say("utter_cancelacion_fuera_de_plazo",
                              {"reserva_texto": booking_line(chosen, tz), "horas": f"{notice:g}"})
            return {"reserva_a_cancelar": chosen.id, "confirmar_cancelacion": False, "plazo_vencido": True}
        return {"reserva_a_cancelar": chosen.id, "reserva_texto": booking_line(chosen, tz)}


class ActionCancelarCita(AssistantAction):
    """Cancels the confirmed booking (DELETE /client/bookings/{id}); the slot becomes free."""

    def name(self) -> str:
        return "action_cancelar_cita"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        done = clear_form_slots()
        if tracker.get_slot("plazo_vencido"):
            return done  # the validation already explained the policy; nothing was called
        booking_id = tracker.get_slot("reserva_a_cancelar")
        phone = client_phone(tracker)
        if tracker.get_slot("confirmar_cancelacion") is not True or not booking_id or phone is None:
            await replier.say("utter_operacion_cancelada")
            return done
        tz = self.services.settings.business_timezone
        async with replier.calling_api("cancel_booking") as call:
            try:
                booking = await self.services.booking_api.cancel_booking(phone, booking_id)
            except Conflict:
                await replier.say("utter_reserva_ya_cancelada", {"reserva_id": booking_id})
                return done
            except NotFound:
                replier.validation_error("utter_reserva_no_encontrada", "reserva")
                return done
        if call.failed:
            return done + call.events
        await cancel_reminders(self.services, booking.id)
        await place_freed(self.services, booking.slot_id)
        await replier.say(
            "utter_reserva_cancelada",
            {
                "reserva_id": booking.id,
                "servicio_nombre": booking.service_name,
                "horario_texto": when_text(booking.starts_at, tz),
            },
            event="booking_cancelled",
        )
        return done
