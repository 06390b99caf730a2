"""The waitlist in the conversation: joining a full class, the offer of a freed place, and its answer.

When the exact class a client asked for is full, the booking flow's alternatives add "o te aviso si se
libera un lugar" (`actions/slot_requests.py`), with the class in the slot `lugar_lleno`; "avísame" joins its
waitlist (`rasa_project/waitlist/`, docs/waitlist.md). When a place frees, the waitlist offers it to the
first waiting client by triggering `EXTERNAL_lugar_libre`: `action_ofrecer_lugar` words the offer (the
`oferta_lugar` template outside WhatsApp's window) with its time limit. "Sí" books the place through the
booking API; "no", or silence until the offer expires, passes it to the next client (the waitlist does that).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.conversation import answers
from actions.formatting import when_text
from actions.identity import client_phone
from actions.reminders import plan_reminders, reminder_when
from actions.replies import best_effort, say_first
from actions.services import Services
from rasa_project.booking_api.errors import Conflict

logger = logging.getLogger(__name__)

OFFER_ACTION = "action_ofrecer_lugar"
OFFER_SLOT = "oferta_lugar"
FULL_SLOT = "lugar_lleno"
TEMPLATE = "oferta_lugar"


def waitlist_button(slot_id: int) -> Dict[str, str]:
    return {"title": "Avísame si se libera", "payload": f'/unirse_lista_espera{{"{FULL_SLOT}": "{slot_id}"}}'}


def offer_buttons(entry_id: str) -> List[Dict[str, str]]:
    ref = f'{{"oferta_id": "{entry_id}"}}'
    return [{"title": "Sí, lo quiero", "payload": f"/aceptar_lugar{ref}"},
            {"title": "No, gracias", "payload": f"/rechazar_lugar{ref}"}]


async def place_freed(services: Services, slot_id: int) -> None:
    """A place the bot just freed (a cancellation, the old class of a move) goes to the waitlist at once."""
    await best_effort(services.waitlist.place_freed(slot_id), "waitlist_place_freed",
                      f"the waitlist's check of the schedule offers slot {slot_id}'s place later")


def offered_entry(tracker: Tracker) -> Optional[str]:
    """The offer an answer is about: named by the option tapped, or the offer just sent."""
    named = next(tracker.get_latest_entity_values("oferta_id"), None)
    if named:
        return str(named)
    return tracker.get_slot(OFFER_SLOT) if answers(tracker, OFFER_ACTION) else None


class ActionUnirseListaEspera(AssistantAction):
    """"Avísame si se libera": the client joins the full class's waitlist (once; their place is kept)."""

    def name(self) -> str:
        return "action_unirse_lista_espera"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        slot_id, phone = tracker.get_slot(FULL_SLOT), client_phone(tracker)
        if not slot_id or phone is None:
            await replier.say("utter_lista_espera_sin_clase")
            return []
        tz = self.services.settings.business_timezone
        now = datetime.now(ZoneInfo(tz))
        async with replier.calling_api("list_slots") as call:
            slots = await self.services.booking_api.list_slots(now.date(), now.date() + timedelta(days=21), None, False)
        if call.failed:
            return call.events
        slot = next((s for s in slots if str(s.id) == str(slot_id)), None)
        if slot is None or slot.starts_at <= now:
            await replier.say("utter_lista_espera_sin_clase")
            return [SlotSet(FULL_SLOT, None)]
        if await best_effort(self.services.waitlist.join(phone, slot), "waitlist_join",
                             f"{phone} is asked to try slot {slot_id} again") is None:
            await replier.say("utter_lista_espera_error")
            return []
        await replier.say("utter_lista_espera_anotado",
                          {"servicio_nombre": slot.service_name, "horario_texto": when_text(slot.starts_at, tz)},
                          event="waitlist_joined")
        return [SlotSet(FULL_SLOT, None)]


class ActionOfrecerLugar(AssistantAction):
    """The waitlist's offer of a freed place, with its time limit (nothing when it expired meanwhile)."""

    def name(self) -> str:
        return OFFER_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        entry_id = next(tracker.get_latest_entity_values("oferta_id"), None)
        phone = client_phone(tracker)
        if not entry_id or phone is None:
            return []
        offer = await self.services.waitlist.live_offer(phone)
        if offer is None or str(offer.entry_id) != str(entry_id):
            logger.info("Offer %s for %s not sent: no longer live", entry_id, phone)
            return []
        tz = self.services.settings.business_timezone
        now = datetime.now(ZoneInfo(tz))
        minutes = max(1, round((offer.expires_at - now).total_seconds() / 60))
        moment = reminder_when(offer.starts_at, now, tz)
        say_first(dispatcher, tracker, domain, "utter_oferta_lugar", TEMPLATE,
                  {"servicio_nombre": offer.service_name, "cuando": moment, "minutos": minutes},
                  [offer.service_name, moment, str(minutes)], offer_buttons(str(entry_id)),
                  event="waitlist_offer_sent", facts={"offer": {"id": str(entry_id), "slot_id": offer.slot_id}})
        return [SlotSet(OFFER_SLOT, str(entry_id))]


class ActionAceptarLugar(AssistantAction):
    """"Sí" to an offer: book the place while the offer holds; otherwise say it is gone."""

    def name(self) -> str:
        return "action_aceptar_lugar"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        entry_id, phone = offered_entry(tracker), client_phone(tracker)
        if not entry_id or phone is None:
            await replier.say("utter_sin_contexto")
            return []
        done: List[EventType] = [SlotSet(OFFER_SLOT, None)]
        offer = await self.services.waitlist.accept(int(entry_id))
        if offer is None:
            await replier.say("utter_oferta_vencida")
            return done
        tz = self.services.settings.business_timezone
        async with replier.calling_api("create_booking") as call:
            try:
                booking = await self.services.booking_api.create_booking(phone, int(offer.slot_id))
            except Conflict as exc:
                await self.services.waitlist.accept_failed(int(entry_id), exc.code or "conflict")
                await replier.say("utter_oferta_vencida")
                return done
        if call.failed:
            await self.services.waitlist.accept_failed(int(entry_id), "booking_api_error")
            return done + call.events
        await self.services.waitlist.booked(int(entry_id), booking.id)
        await plan_reminders(self.services, booking)
        await replier.say(
            "utter_reserva_confirmada",
            {"reserva_id": booking.id, "servicio_nombre": booking.service_name,
             "horario_texto": when_text(booking.starts_at, tz)},
            {"booking": {"id": booking.id, "slot_id": booking.slot_id, "starts_at": booking.starts_at.isoformat()},
             "waitlist": {"entry": entry_id}},
            event="booking_created",
        )
        return done


class ActionRechazarLugar(AssistantAction):
    """"No" to an offer: the place goes to the next waiting client at once."""

    def name(self) -> str:
        return "action_rechazar_lugar"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        entry_id = offered_entry(tracker)
        if not entry_id:
            await replier.say("utter_sin_contexto")
            return []
        await self.services.waitlist.decline(int(entry_id))
        await replier.say("utter_oferta_rechazada", event="waitlist_offer_declined")
        return [SlotSet(OFFER_SLOT, None)]
