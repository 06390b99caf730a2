"""consulta_estado: the client's upcoming bookings (GET /client/bookings)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.client_bookings import booking_line
from actions.formatting import bulleted


class ActionConsultaEstado(AssistantAction):
    """Lists the client's upcoming bookings."""

    def name(self) -> str:
        return "action_consulta_estado"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        tz = self.services.settings.business_timezone
        result = await replier.for_client(self.services.booking_api.list_bookings, during="list_bookings")
        if not result.ok:
            return result.events
        bookings = [b for b in result.value or [] if b.is_active]
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
