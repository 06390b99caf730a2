"""Appointment reminders in the conversation: the message itself, and the client's three answers.

The reminders scheduler (`rasa_project/reminders/`, docs/reminders.md) triggers `EXTERNAL_recordatorio`
with the booking's id; `action_enviar_recordatorio` looks the booking up (a booking cancelled meanwhile
gets no reminder) and sends the text with three options, or, outside WhatsApp's 24-hour window, the
approved `recordatorio_cita` template with the same options (the channel decides, docs/whatsapp-window.md).
The options carry the booking: "1" confirms it (`action_confirmar_asistencia`: an event and the
reminder's `confirmed_at`, the owner's figure), "2" opens the cancel flow and "3" the reschedule flow
for that booking (`reminded_booking`, read by their preparing actions); the options name the booking,
so a late tap still works. Typed answers work too: "sí" right after the reminder confirms, "cancelar" /
"cambiar" pick the reminded booking.
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
from actions.client_bookings import upcoming
from actions.conversation import answers
from actions.formatting import when_text
from actions.identity import client_phone
from actions.replies import best_effort, say_first
from actions.services import Services
from rasa_project.booking_api.models import Booking
from rasa_project.metrics import ACTION_API_ERRORS

logger = logging.getLogger(__name__)

SEND_ACTION = "action_enviar_recordatorio"
TEMPLATE = "recordatorio_cita"
REMINDED_SLOT = "reserva_recordada"
BOOKING_ENTITIES = ("booking_id", "reserva_id")


def reminder_when(starts_at: datetime, now: datetime, tz: str) -> str:
    """'hoy a las 19:00', 'mañana jueves 3 de diciembre a las 19:00', 'el viernes 4 de diciembre a las 8:00'."""
    zone = ZoneInfo(tz)
    local, today = starts_at.astimezone(zone), now.astimezone(zone).date()
    day, hour = when_text(starts_at, tz).split(", ")
    if local.date() == today:
        return f"hoy a las {hour}"
    if local.date() == today + timedelta(days=1):
        return f"mañana {day} a las {hour}"
    return f"el {day} a las {hour}"


def reminder_buttons(booking_id: str) -> List[Dict[str, str]]:
    """Confirm / cancel / move, each naming the booking: the answer works however late it comes."""
    ref = f'{{"booking_id": "{booking_id}"}}'
    return [{"title": "Confirmo", "payload": f"/confirmar_asistencia{ref}"},
            {"title": "Cancelar", "payload": f"/cancelar_cita{ref}"},
            {"title": "Cambiar horario", "payload": f"/reprogramar_cita{ref}"}]


def _latest_entity(tracker: Tracker, names: tuple) -> Optional[str]:
    for name in names:
        value = next(tracker.get_latest_entity_values(name), None)
        if value:
            return str(value)
    return None


def reminded_booking(tracker: Tracker) -> Optional[str]:
    """The booking a reminder answer is about: named by the option tapped, or the reminder just sent."""
    named = _latest_entity(tracker, BOOKING_ENTITIES)
    if named:
        return named
    if answers(tracker, SEND_ACTION):
        return tracker.get_slot(REMINDED_SLOT)
    return None


async def plan_reminders(services: Services, booking: Booking) -> None:
    """Plan (or re-plan) a booking's reminders; a failure is never the client's problem."""
    await best_effort(services.reminders.plan(booking), "plan_reminders",
                      f"the sync plans booking {booking.id}'s reminders from the booking API")


async def cancel_reminders(services: Services, booking_id: str) -> None:
    await best_effort(services.reminders.cancel(booking_id), "cancel_reminders",
                      f"the sync cancels booking {booking_id}'s reminders")


class ActionEnviarRecordatorio(AssistantAction):
    """The reminder: booking looked up live, text + options, template name and variables for the channel."""

    def name(self) -> str:
        return SEND_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        booking_id = _latest_entity(tracker, ("reserva_id",))
        phone = client_phone(tracker)
        if not booking_id or phone is None:
            logger.warning("Reminder for %s without a booking id; nothing sent", tracker.sender_id)
            return []
        try:
            booking = next((b for b in await upcoming(self.services, phone) if b.id == booking_id), None)
        except Exception as exc:  # the scheduler records the reminder as not sent (no message), and why here
            ACTION_API_ERRORS.labels(during="list_bookings", kind=type(exc).__name__).inc()
            logger.error("Reminder of booking %s not sent: booking API %s: %s", booking_id, type(exc).__name__, exc)
            return []
        if booking is None:
            logger.info("Reminder of booking %s not sent: no longer an upcoming booking of %s", booking_id, phone)
            return []
        tz = self.services.settings.business_timezone
        moment = reminder_when(booking.starts_at, datetime.now(ZoneInfo(tz)), tz)
        say_first(dispatcher, tracker, domain, "utter_recordatorio", TEMPLATE,
                  {"servicio_nombre": booking.service_name, "cuando": moment}, [booking.service_name, moment],
                  reminder_buttons(booking.id), event="reminder_sent",
                  facts={"booking": {"id": booking.id, "starts_at": booking.starts_at.isoformat()}})
        return [SlotSet(REMINDED_SLOT, booking.id)]


class ActionConfirmarAsistencia(AssistantAction):
    """"1" / "sí" to a reminder: the confirmation recorded (event + the reminder's figure), a short thanks."""

    def name(self) -> str:
        return "action_confirmar_asistencia"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        booking_id = reminded_booking(tracker)
        if not booking_id:
            await replier.say("utter_sin_contexto")
            return []
        await best_effort(self.services.reminders.confirmed(booking_id), "confirm_attendance",
                          f"booking {booking_id}'s confirmation is only in the tracker event")
        await replier.say("utter_asistencia_confirmada", {"reserva_id": booking_id}, event="attendance_confirmed")
        return [SlotSet("asistencia_confirmada", booking_id), SlotSet(REMINDED_SLOT, None)]
