"""reprogramar_cita: move a booking to another day or time, a conversation of its own.

action_preparar_reprogramacion finds the client's upcoming bookings (the one the message names, "la del
jueves", "la de yoga", or the only one); reprogramar_form asks which one (numbered options) and the new
moment, read against the live schedule like a booking (`slot_requests.py`: right, or ask), with the booking
itself as context ("a las 8" keeps its day, "a la misma hora" keeps its time), then confirms. The new
place is booked BEFORE the old one is cancelled, so a failure never leaves the client with nothing, and
both steps are safe to repeat after a retried turn (409 `already_booked` / `already_cancelled`). Inside the
change-policy window (`change_notice_hours`) the bot says so and calls nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

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
from actions.moments import MOMENT_SLOT, exact_moment, heard_when, latest_text, now_in, remembered, to_slot
from actions.reminders import cancel_reminders, plan_reminders, reminded_booking
from actions.replies import Replier
from actions.slot_requests import AskMomentUnlessAnswered, SlotRequests
from actions.waitlist import place_freed
from rasa_project.booking_api.errors import Conflict
from rasa_project.booking_api.models import Booking
from rasa_project.dates import When, merge_correction, understand_when

ORIGIN, DESTINATION = "origen", "destino"


def role_spans(tracker: Tracker, role: str) -> List[str]:
    spans = sorted(_moment_entities(tracker), key=lambda e: e.get("start", 0))
    return [str(e["value"]) for e in spans if e.get("role") == role and e.get("value")]


def origin_when(tracker: Tracker, now: datetime, tz: str) -> When:
    """What the message says about the booking to move ("del jueves", "la de las 6")."""
    origin = role_spans(tracker, ORIGIN)
    return understand_when(" ".join(origin), now, tz) if origin else When(tz=tz)


DESTINATION_MARKERS = (" para ", " pa ", " al ", " a la ", " a las ", " por ")


def destination_when(tracker: Tracker, now: datetime, tz: str, fallback: str,
                     booking: Optional[Booking] = None) -> When:
    """What the message says about the new moment: everything it says about a moment once the words that
    name the booking being moved (`origen` spans that name a moment: "del jueves", "la de las 6") are cut
    out, read with the `destino` spans (which the NLU may have cut short). When the NLU marked no roles
    and the message names two days ("del jueves para el viernes"), the part after the last "para"/"al"
    is the new moment. The NLU's roles are unsure: with the booking known, only an origin span that
    matches it (its day, or its time) is cut ("a las 7" tagged origen of a booking at 08:00 stays)."""
    text = latest_text(tracker)
    origins = [e for e in _moment_entities(tracker) if e.get("role") == ORIGIN
               and _names_booking(understand_when(str(e.get("value") or ""), now, tz), booking, tz)]
    for entity in sorted(origins, key=lambda e: int(e.get("start", 0)), reverse=True):
        start, end = int(entity.get("start", 0)), int(entity.get("end", 0))
        if 0 <= start < end <= len(text):
            text = text[:start] + " " + text[end:]
    when = understand_when(text, now, tz, role_spans(tracker, DESTINATION))
    if when.unclear_day:
        lowered = f" {text.lower()} "
        cuts = sorted(i for marker in DESTINATION_MARKERS for i in _positions(lowered, marker))
        for cut in cuts:  # the longest tail that names one clear day is the new moment
            tail = understand_when(lowered[cut:], now, tz)
            if tail.day is not None or tail.day_range is not None:
                when = tail
                break
    if when.is_empty and fallback and fallback != latest_text(tracker):
        when = understand_when(fallback, now, tz)
    return when


def _names_booking(moment: When, booking: Optional[Booking], tz: str) -> bool:
    if moment.is_empty:
        return False
    if booking is None:
        return True
    local = exact_moment(booking.starts_at, tz)
    return (moment.day is not None and moment.day == local.day) or (
        moment.day is None and local.time is not None and local.time in moment.times)


def _positions(text: str, marker: str) -> List[int]:
    found, start = [], text.find(marker)
    while start >= 0:
        found.append(start)
        start = text.find(marker, start + 1)
    return found


def _moment_entities(tracker: Tracker) -> List[Dict[str, Any]]:
    return [e for e in (tracker.latest_message or {}).get("entities") or [] if e.get("entity") == "fecha_hora"]


class ActionPrepararReprogramacion(AssistantAction):
    """Looks up what can be moved (and which one the message names); the form starts only when there is one."""

    def name(self) -> str:
        return "action_preparar_reprogramacion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        nothing: List[EventType] = [SlotSet("reservas_movibles", False)]
        tz = self.services.settings.business_timezone
        result = await replier.for_client(lambda phone: upcoming(self.services, phone), during="list_bookings")
        if not result.ok:
            return nothing + result.events
        bookings = result.value or []
        if not bookings:
            await replier.say("utter_sin_reservas")
            return nothing
        events: List[EventType] = [SlotSet("reservas_movibles", True)]
        reminded = reminded_booking(tracker)  # "3" / "cambiar" to a reminder: that booking
        chosen = next((b for b in bookings if b.id == reminded), None)
        if chosen is None:
            chosen = bookings[0] if len(bookings) == 1 else named_booking(
                " ".join(str(e.get("value")) for e in (tracker.latest_message or {}).get("entities") or []
                         if e.get("entity") in ("servicio", "booking_id")),
                origin_when(tracker, now_in(tz), tz), bookings, tz)
        if chosen is not None:
            events += [SlotSet("reserva_a_mover", chosen.id), SlotSet("reserva_mover_texto", booking_line(chosen, tz))]
        return events


class ActionAskReservaAMover(AskWhichBooking):
    """Asks which booking to move, as numbered options."""

    response = "utter_ask_reserva_a_mover"

    def name(self) -> str:
        return "action_ask_reserva_a_mover"

class ActionAskNuevoHorario(AskMomentUnlessAnswered):
    """Asks the new day and time, unless the validation just did."""

    response = "utter_ask_nuevo_horario"
    slot = "nuevo_horario"

    def name(self) -> str:
        return "action_ask_nuevo_horario"


class ValidateReprogramarForm(AssistantFormValidation):
    """Which booking (and whether the policy still allows moving it), then the new moment."""

    def name(self) -> str:
        return "validate_reprogramar_form"

    @property
    def tz(self) -> str:
        return self.services.settings.business_timezone

    async def _booking(self, tracker: Tracker, booking_id: str) -> Optional[Booking]:
        bookings = await upcoming(self.services, client_phone(tracker) or "")
        return next((b for b in bookings if b.id == booking_id), None)

    async def extract_nuevo_horario(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A new moment in a message whose `fecha_hora` entity the NLU missed: the whole message."""
        if tracker.get_slot("nuevo_horario") or tracker.get_slot("plazo_vencido"):
            return {}
        if not tracker.get_slot("reserva_a_mover") or tracker.get_slot("requested_slot") == "reserva_a_mover":
            return {}  # "la del jueves" answers which booking, not the new moment
        now = now_in(self.tz)
        if destination_when(tracker, now, self.tz, "").is_empty:
            return {}
        return {"nuevo_horario": latest_text(tracker)}

    async def validate_reserva_a_mover(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("list_bookings") as call:
            bookings = await upcoming(self.services, client_phone(tracker) or "")
        if call.failed:
            return {"reserva_a_mover": None}
        now = now_in(self.tz)
        chosen = named_booking(str(value or ""), heard_when(tracker, now, self.tz), bookings, self.tz)
        if chosen is None:
            replier.validation_error("utter_reserva_no_encontrada", "reserva")
            return {"reserva_a_mover": None}
        if within_notice(chosen, now, self.services.settings.change_notice_hours):
            notice = self.services.settings.change_notice_hours
            await replier.say("utter_cambio_fuera_de_plazo",
                              {"reserva_texto": booking_line(chosen, self.tz), "horas": f"{notice:g}"})
            return {"reserva_a_mover": chosen.id, "nuevo_horario": "-", "confirmar_cambio": False,
                    "plazo_vencido": True}
        return {"reserva_a_mover": chosen.id, "reserva_mover_texto": booking_line(chosen, self.tz)}

    async def validate_nuevo_horario(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("plazo_vencido"):
            return {"nuevo_horario": value}
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("validate_nuevo_horario"):
            booking = await self._booking(tracker, str(tracker.get_slot("reserva_a_mover") or ""))
            if booking is None:
                return {"nuevo_horario": None}
            services = await self.services.booking_api.list_services()
            service = next((s for s in services if s.code == booking.service_code), None)
            if service is None:
                return {"nuevo_horario": None}
            requests = SlotRequests(replier, service, self.tz, intent="informar")
            now = now_in(self.tz)
            text = str(value or "")
            if text.strip().isdigit():
                outcome = await requests.by_id(int(text), now)
            else:
                heard = destination_when(tracker, now, self.tz, text, booking)
                if heard.is_empty:
                    return {"nuevo_horario": None}  # the form asks for the new day and time
                base = remembered(tracker, self.tz) or exact_moment(booking.starts_at, self.tz)
                outcome = await requests.resolve(merge_correction(base, heard), now)
            if outcome.slot is None:
                return {"nuevo_horario": None, MOMENT_SLOT: to_slot(outcome.understood) if outcome.understood
                        else None}
            if outcome.slot.id == booking.slot_id:
                await replier.say("utter_cambio_mismo_horario", {"reserva_texto": booking_line(booking, self.tz)})
                return {"nuevo_horario": None}
            slot = outcome.slot
            return {"nuevo_horario": str(slot.id),
                    "nuevo_horario_texto": f"{when_text(slot.starts_at, self.tz)} con {slot.instructor}",
                    MOMENT_SLOT: to_slot(exact_moment(slot.starts_at, self.tz))}
        return {"nuevo_horario": None}

    async def validate_confirmar_cambio(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A new moment at the confirmation ("mejor a las 8") is a correction, not a "no"."""
        if not tracker.get_slot("plazo_vencido") and not heard_when(tracker, now_in(self.tz), self.tz).is_empty:
            return {"confirmar_cambio": None}
        return {"confirmar_cambio": value}


class ActionReprogramarCita(AssistantAction):
    """Books the new slot, then cancels the old booking; says what happened at each possible stop."""

    def name(self) -> str:
        return "action_reprogramar_cita"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        done = clear_form_slots()
        if tracker.get_slot("plazo_vencido"):
            return done  # the validation already explained the policy; nothing was called
        phone = client_phone(tracker)
        old_id, new_slot = tracker.get_slot("reserva_a_mover"), tracker.get_slot("nuevo_horario")
        if tracker.get_slot("confirmar_cambio") is not True or phone is None or not old_id or not new_slot:
            await replier.say("utter_operacion_cancelada")
            return done
        async with replier.calling_api("reschedule_booking") as call:
            new = await self._book_new(phone, int(new_slot), replier)
            if new is None:
                return done
            old = await self._cancel_old(phone, str(old_id))
        if call.failed:
            return done + call.events
        await plan_reminders(self.services, new)
        await cancel_reminders(self.services, str(old_id))
        if old is not None:
            await place_freed(self.services, old.slot_id)
        tz = self.services.settings.business_timezone
        await replier.say(
            "utter_cita_reprogramada",
            {"reserva_id": new.id, "servicio_nombre": new.service_name, "horario_texto": when_text(new.starts_at, tz),
             "reserva_anterior": old_id},
            {"booking": {"id": new.id, "slot_id": new.slot_id, "starts_at": new.starts_at.isoformat()},
             "replaced": old_id},
            event="booking_rescheduled",
        )
        return done

    async def _book_new(self, phone: str, slot_id: int, replier: Replier) -> Optional[Booking]:
        api = self.services.booking_api
        try:
            return await api.create_booking(phone, slot_id)
        except Conflict as exc:
            if exc.code != "already_booked":  # taken meanwhile: nothing changed, say so
                await replier.say("utter_cambio_ganado_por_otro", {"conflict": exc.code})
                return None
        # A retried turn whose first try booked it: carry on with that booking.
        held = [b for b in await api.list_bookings(phone) if b.is_active and b.slot_id == slot_id]
        return held[0] if held else None

    async def _cancel_old(self, phone: str, booking_id: str) -> Optional[Booking]:
        try:
            return await self.services.booking_api.cancel_booking(phone, booking_id)
        except Conflict:
            return None  # already cancelled: a retried turn, or cancelled meanwhile; the new place is held
