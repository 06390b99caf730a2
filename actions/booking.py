"""agendar_cita: agendar_form asks service, day and time (and who you are, if unknown), checks the
moment against /schedule-slots (right, or ask: `slot_requests.py`), offers the nearest free slots when
it is taken, confirms with weekday and date, books."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction
from actions.conversation import clear_form_slots
from actions.formatting import join_es, when_text
from actions.identity import client_phone
from actions.matching import comparable, pick_by_name
from actions.moments import (
    MOMENT_SLOT,
    exact_moment,
    heard_when,
    latest_text,
    now_in,
    remembered,
    requested,
    to_slot,
)
from actions.registration import REGISTRATION_SLOTS, RegisteringFormValidation, register_if_needed
from actions.reminders import plan_reminders
from actions.replies import Replier
from actions.slot_requests import SEARCH_DAYS, AskMomentUnlessAnswered, Outcome, SlotRequests, slot_payload
from actions.slot_search import choose_slot
from actions.waitlist import FULL_SLOT, waitlist_button
from rasa_project.booking_api.errors import BookingApiError, Conflict
from rasa_project.booking_api.models import Service
from rasa_project.dates import When, understand_when


def asking_who(tracker: Tracker) -> bool:
    """The form is asking an unknown client's name or email: the answer is not a service or a moment."""
    return tracker.get_slot("requested_slot") in REGISTRATION_SLOTS


class ValidateAgendarForm(RegisteringFormValidation):
    """Validates the booking form's service and moment against the live schedule."""

    def name(self) -> str:
        return "validate_agendar_form"

    @property
    def tz(self) -> str:
        return self.services.settings.business_timezone

    async def _service(self, value: str | None) -> Service | None:
        if not value:
            return None
        services = await self.services.booking_api.list_services()
        return pick_by_name(value, services, lambda s: s.code, lambda s: s.name)

    async def extract_servicio(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The service named in a message whose `servicio` entity the NLU missed ("kiero sacar turno pa
        pilates el viernes..."): one service name or code in the text, else nothing."""
        if tracker.get_slot("servicio") or not latest_text(tracker).strip() or asking_who(tracker):
            return {}
        try:
            services = await self.services.booking_api.list_services()
        except BookingApiError:
            return {}  # validate_servicio apologizes if the API is down
        service = pick_by_name(latest_text(tracker), services, lambda s: s.code, lambda s: s.name)
        return {"servicio": service.code} if service is not None and len(latest_text(tracker)) > 3 else {}

    async def extract_horario(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A moment in a message whose `fecha_hora` entity the NLU missed ("yoga viernes 8am"): the whole
        message, read by validate_horario with the one date parser."""
        if tracker.get_slot("horario") or asking_who(tracker):
            return {}  # a name or an email is being asked ("Julio Pérez" is no month)
        if heard_when(tracker, now_in(self.tz), self.tz).is_empty:
            return {}
        return {"horario": latest_text(tracker)}

    async def validate_servicio(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("validate_servicio"):
            services = await self.services.booking_api.list_services()
            service = pick_by_name(str(value or ""), services, lambda s: s.code, lambda s: s.name)
            if service is None:
                replier.validation_error(
                    "utter_servicio_desconocido", "servicio",
                    {"pedido": value, "lista_servicios": join_es([s.name for s in services])},
                )
                return {"servicio": None}
            result: Dict[str, Any] = {"servicio": service.code, "servicio_nombre": service.name}
            pending = tracker.get_slot("horario")
            asked_now = "horario" in tracker.slots_to_validate()  # validate_horario will check it
            if pending and not asked_now and tracker.get_slot("horario_texto") is None:
                # the moment came before the service ("mañana a las 6 ... pilates"): check it now
                now = now_in(self.tz)
                when = remembered(tracker, self.tz) or understand_when(str(pending), now, self.tz)
                result.update(await self._resolve(service, when, str(pending), replier))
            return result
        return {"servicio": None}

    async def validate_horario(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("validate_horario"):
            text = str(value or "")
            when = requested(tracker, now_in(self.tz), self.tz, fallback=text)
            service = await self._service(tracker.get_slot("servicio"))
            if service is None:
                # keep what they asked for; validate_servicio checks it once the service is known
                return {"horario": value, "horario_texto": None, MOMENT_SLOT: to_slot(when)}
            return await self._resolve(service, when, text, replier)
        return {"horario": None}

    async def validate_confirmar_reserva(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A "no, a las 7" or "mejor el sábado" at the confirmation changes the moment (re-checked by
        validate_horario this turn) instead of cancelling the whole booking."""
        if not heard_when(tracker, now_in(self.tz), self.tz).is_empty:
            return {"confirmar_reserva": None}
        return {"confirmar_reserva": value}

    async def _resolve(self, service: Service, when: When, text: str, replier: Replier) -> Dict[str, Any]:
        """Slot events for the requested moment: the slot when free, else None after one question."""
        requests = SlotRequests(replier, service, self.tz, offer_waitlist=True)
        now = now_in(self.tz)
        if text.strip().isdigit():  # a slot picked from our own numbered options
            outcome = await requests.by_id(int(text), now)
        else:
            outcome = await requests.resolve(when, now)
        events = self._events(outcome)
        if requests.full is not None:  # "o te aviso si se libera un lugar": the class "avísame" is about
            events[FULL_SLOT] = str(requests.full.id)
        return events

    def _events(self, outcome: Outcome) -> Dict[str, Any]:
        moment = to_slot(outcome.understood) if outcome.understood is not None else None
        slot = outcome.slot
        if slot is None:
            return {"horario": None, "horario_texto": None, MOMENT_SLOT: moment}
        return {
            "horario": str(slot.id),
            "horario_texto": f"{when_text(slot.starts_at, self.tz)} con {slot.instructor}",
            "servicio": slot.service_code,
            "servicio_nombre": slot.service_name,
            MOMENT_SLOT: to_slot(exact_moment(slot.starts_at, self.tz)),
        }


class ActionAskHorario(AskMomentUnlessAnswered):
    """Asks the booking's day and time, unless the validation just did (alternatives, a missing hour...)."""

    response = "utter_ask_horario"
    slot = "horario"

    def name(self) -> str:
        return "action_ask_horario"


class ActionAgendarCita(AssistantAction):
    """Books the confirmed slot (POST /booking), registering the client first if the form asked."""

    def name(self) -> str:
        return "action_agendar_cita"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        done = clear_form_slots()
        if tracker.get_slot("confirmar_reserva") is not True:
            await replier.say("utter_operacion_cancelada")
            return done
        phone = client_phone(tracker)
        if phone is None:
            await replier.say("utter_sin_telefono")
            return done
        tz = self.services.settings.business_timezone
        events: List[EventType] = []
        async with replier.calling_api("create_booking") as call:
            events += await register_if_needed(replier, tracker, phone)
            try:
                booking = await self.services.booking_api.create_booking(phone, int(tracker.get_slot("horario")))
            except Conflict as exc:
                if exc.code == "already_booked":  # a double tap, or a retried turn whose first try booked it
                    await self._already_booked(replier, tracker, exc)
                else:
                    await self._offer_others(replier, tracker, exc)
                return events + done
        if call.failed:
            return events + done + call.events
        await plan_reminders(self.services, booking)
        await replier.say(
            "utter_reserva_confirmada",
            {
                "reserva_id": booking.id,
                "servicio_nombre": booking.service_name,
                "horario_texto": when_text(booking.starts_at, tz),
            },
            {"booking": {"id": booking.id, "slot_id": booking.slot_id, "starts_at": booking.starts_at.isoformat()}},
            event="booking_created",
        )
        return events + done

    async def _already_booked(self, replier: Replier, tracker: Tracker, exc: Conflict) -> None:
        """The client already holds this slot: say so, and book nothing else."""
        code = comparable(tracker.get_slot("servicio") or "")
        await replier.say(
            "utter_reserva_ya_existente",
            {"servicio_nombre": tracker.get_slot("servicio_nombre") or code,
             "horario_texto": tracker.get_slot("horario_texto") or "el horario que elegiste"},
            {"booking": {"id": exc.details.get("booking_id"), "slot_id": int(tracker.get_slot("horario"))},
             "conflict": exc.code},
            event="booking_already_held",
        )

    async def _offer_others(self, replier: Replier, tracker: Tracker, exc: Conflict) -> None:
        """The slot was taken between confirmation and booking (a 409 race): offer the nearest ones."""
        tz = self.services.settings.business_timezone
        now = datetime.now(ZoneInfo(tz))
        slot_id = int(tracker.get_slot("horario"))
        code = comparable(tracker.get_slot("servicio") or "")
        slots = await self.services.booking_api.list_slots(now.date(), now.date() + timedelta(days=SEARCH_DAYS), code)
        taken = next((s for s in slots if s.id == slot_id), None)
        wanted = taken.starts_at if taken else now
        choice = choose_slot([s for s in slots if s.id != slot_id], wanted, now)
        buttons = [{"title": when_text(s.starts_at, tz), "payload": slot_payload(s)} for s in choice.alternatives]
        if taken is not None and taken.starts_at > now:
            buttons.append(waitlist_button(taken.id))
        await replier.say(
            "utter_reserva_ganada_por_otro",
            {"servicio_nombre": tracker.get_slot("servicio_nombre") or code, "horario_texto": when_text(wanted, tz)},
            {"conflict": exc.code},
            buttons=buttons,
            error={"type": "booking_api.conflict", "code": exc.code, "status": exc.status},
        )
