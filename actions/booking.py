"""agendar_cita: agendar_form asks service, day and time (and who you are, if unknown), checks the
time against /schedule-slots, offers the 3 nearest free slots when it is taken, confirms, books."""

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
from actions.formatting import day_text, join_es, time_text, when_text
from actions.identity import client_phone
from actions.matching import comparable, pick_by_name
from actions.registration import RegisteringFormValidation, register_if_needed
from actions.replies import Replier
from actions.slot_search import choose_slot
from rasa_project.booking_api.errors import Conflict
from rasa_project.booking_api.models import Service, Slot
from rasa_project.spanish_dates import parse_when

SEARCH_DAYS = 21


def slot_button(slot: Slot, tz: str) -> Dict[str, str]:
    """A numbered option that books this slot when picked, inside or outside the form."""
    return {
        "title": when_text(slot.starts_at, tz),
        "payload": f'/agendar_cita{{"servicio": "{slot.service_code}", "slot_id": "{slot.id}"}}',
    }


class ValidateAgendarForm(RegisteringFormValidation):
    """Validates the booking form's service and time against the live schedule."""

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
                # the time came before the service ("mañana a las 6 ... pilates"): check it now
                result.update(await self._resolve(service, str(pending), replier))
            return result
        return {"servicio": None}

    async def validate_horario(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        async with replier.calling_api("validate_horario"):
            service = await self._service(tracker.get_slot("servicio"))
            if service is None:
                # keep what they asked for; validate_servicio checks it once the service is known
                return {"horario": value, "horario_texto": None}
            return await self._resolve(service, str(value or ""), replier)
        return {"horario": None}

    async def _resolve(self, service: Service, text: str, replier: Replier) -> Dict[str, Any]:
        """Slot events for the requested time: the slot when free, else None after offering others."""
        api = self.services.booking_api
        now = datetime.now(ZoneInfo(self.tz))
        if text.strip().isdigit():  # a slot picked from our own numbered options
            slots = await api.list_slots(now.date(), now.date() + timedelta(days=SEARCH_DAYS), service.code)
            wanted_slot = next((s for s in slots if s.id == int(text)), None)
            if wanted_slot is not None:
                return self._accept(wanted_slot)
            return await self._offer(service, slots, now, now, "En ese horario", replier)

        when = parse_when(text, now, self.tz)
        if when is None or (when.day is None and when.time is None):
            replier.validation_error("utter_horario_no_entendido", "fecha")
            return {"horario": None, "horario_texto": None}
        day = when.day or (now.date() if when.time and when.time > now.time() else now.date() + timedelta(days=1))
        if when.time is None:
            slots = await api.list_slots(day, day, service.code)
            hours = [time_text(s.starts_at, self.tz) for s in slots if s.available > 0 and s.starts_at > now]
            if hours:
                await replier.say(
                    "utter_horario_falta_hora", {"dia_texto": day_text(day), "lista_horas": join_es(hours)}
                )
                return {"horario": None, "horario_texto": None}
            slots = await api.list_slots(day, day + timedelta(days=3), service.code)
            wanted = datetime.combine(day, datetime.min.time(), ZoneInfo(self.tz))
            return await self._offer(service, slots, wanted, now, f"El {day_text(day)}", replier)

        wanted = datetime.combine(day, when.time, ZoneInfo(self.tz))
        slots = await api.list_slots(day - timedelta(days=1), day + timedelta(days=3), service.code, False)
        choice = choose_slot(slots, wanted, now)
        if choice.slot is not None:
            return self._accept(choice.slot)
        return await self._offer(service, slots, wanted, now, f"El {when_text(wanted, self.tz)}", replier)

    def _accept(self, slot: Slot) -> Dict[str, Any]:
        return {
            "horario": str(slot.id),
            "horario_texto": f"{when_text(slot.starts_at, self.tz)} con {slot.instructor}",
            "servicio": slot.service_code,
            "servicio_nombre": slot.service_name,
        }

    async def _offer(
        self, service: Service, slots: List[Slot], wanted: datetime, now: datetime, asked: str, replier: Replier
    ) -> Dict[str, Any]:
        choice = choose_slot(slots, wanted, now)
        values = {"pedido_texto": asked, "servicio_nombre": service.name}
        if choice.alternatives:
            await replier.say(
                "utter_horario_no_disponible",
                {**values, "alternativas": join_es([when_text(s.starts_at, self.tz) for s in choice.alternatives])},
                buttons=[slot_button(s, self.tz) for s in choice.alternatives],
            )
        else:
            await replier.say("utter_horario_sin_alternativas", values)
        return {"horario": None, "horario_texto": None}


# What validate_horario may already have said this turn; each asks for the day and time itself.
ANSWERED_ABOUT_TIME = frozenset({
    "utter_horario_no_disponible", "utter_horario_sin_alternativas", "utter_horario_falta_hora",
    "utter_horario_no_entendido",
})


def said_this_turn(tracker: Tracker, templates: frozenset) -> bool:
    """Whether a bot message since the client's last message came from one of `templates`."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("template_name") in templates:
            return True
    return False


class ActionAskHorario(AssistantAction):
    """Asks for the day and time, unless the validation just did (alternatives, a missing hour, ...):
    the stock `utter_ask_horario` would follow "these are the nearest free slots" with "¿Para qué
    día y hora?"."""

    def name(self) -> str:
        return "action_ask_horario"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        if not said_this_turn(tracker, ANSWERED_ABOUT_TIME):
            dispatcher.utter_message(response="utter_ask_horario")
        return []


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
        await replier.say(
            "utter_reserva_ganada_por_otro",
            {"servicio_nombre": tracker.get_slot("servicio_nombre") or code, "horario_texto": when_text(wanted, tz)},
            {"conflict": exc.code},
            buttons=[slot_button(s, tz) for s in choice.alternatives],
            error={"type": "booking_api.conflict", "code": exc.code, "status": exc.status},
        )
