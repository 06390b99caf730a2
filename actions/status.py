"""consulta_estado: the client's upcoming bookings (GET /client/bookings)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.formatting import bulleted, when_text
from actions.identity import client_phone
from rasa_project.booking_api.errors import BookingApiError, ClientNotFound
from rasa_project.booking_api.models import Booking


def booking_line(booking: Booking, tz: str) -> str:
    return f"{booking.service_name}, {when_text(booking.starts_at, tz)} (reserva {booking.id})"


class ActionConsultaEstado(AssistantAction):
    """Lists the client's upcoming bookings."""

    def name(self) -> str:
        return "action_consulta_estado"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        phone = client_phone(tracker)
        if phone is None:
            await replier.say("utter_sin_telefono")
            return []
        tz = self.services.settings.business_timezone
        try:
            bookings = [b for b in await self.services.booking_api.list_bookings(phone) if b.is_active]
        except ClientNotFound:
            await replier.say("utter_cliente_no_registrado")
            return [SlotSet("cliente_registrado", False)]
        except BookingApiError as exc:
            await replier.api_error(exc, during="list_bookings")
            return []
        if not bookings:
            await replier.say("utter_sin_reservas")
            return []
        await replier.say(
            "utter_reservas_listado",
            {"lista_reservas": bulleted(booking_line(b, tz) for b in bookings)},
            {"bookings": [{"id": b.id, "service": b.service_code, "starts_at": b.starts_at.isoformat()}
                          for b in bookings]},
        )
        return []
