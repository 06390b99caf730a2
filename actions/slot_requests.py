"""A requested moment against a service's live schedule: the slot, or one clear question. Never a guess.

Shared by booking and rescheduling. Given what the client said (`When`) the outcome is exactly one of:
- the free slot at that day and time (an ambiguous hour is settled by the schedule: "a las 7" when only
  the 19:00 class exists, or is still ahead today);
- a question when something is missing or unclear: a day named but not understood, "otro día", a time
  without a day (the form's own day is used when it has one), a day without an hour (the free hours of
  that day are listed), two readings of an hour that both have a class, a range such as "el finde";
- the nearest free alternatives when the slot is full or does not exist.
A missing day never becomes today or tomorrow.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.formatting import day_text, join_es, time_text, when_text
from actions.replies import Replier
from actions.slot_search import choose_slot
from actions.waitlist import waitlist_button
from rasa_project.booking_api.models import Service, Slot
from rasa_project.dates import When

SEARCH_DAYS = 21
MAX_OPTIONS = 6

# Every question or offer `SlotRequests` may send; the form's "¿Para qué día y hora?" stays silent after one.
TEMPLATES = frozenset({
    "utter_horario_no_disponible", "utter_horario_sin_alternativas", "utter_horario_falta_hora",
    "utter_horario_no_entendido", "utter_ask_dia", "utter_ask_dia_con_hora", "utter_horario_elegir",
    "utter_horario_lleno", "utter_horario_lleno_sin_alternativas", "utter_horario_sin_clase",
})


@dataclass
class Outcome:
    """The slot found (None: a question or offer was sent) and the moment understood so far."""

    slot: Optional[Slot] = None
    understood: Optional[When] = None
    asked: bool = field(default=False)


def slot_payload(slot: Slot, intent: str = "agendar_cita") -> str:
    return f'/{intent}{{"servicio": "{slot.service_code}", "slot_id": "{slot.id}"}}'


class SlotRequests:
    """Resolves requests for one service, replying through `replier`; `intent` names the payload of the
    numbered options it offers (picking one continues the same flow)."""

    def __init__(self, replier: Replier, service: Service, tz: str, intent: str = "agendar_cita",
                 offer_waitlist: bool = False) -> None:
        """`offer_waitlist`: a full class adds "o te aviso si se libera un lugar" (booking, not moving);
        the class is then in `full`."""
        self.replier = replier
        self.api = replier.services.booking_api
        self.service = service
        self.tz = tz
        self.intent = intent
        self.offer_waitlist = offer_waitlist
        self.full: Optional[Slot] = None

    def button(self, slot: Slot) -> Dict[str, str]:
        return {"title": when_text(slot.starts_at, self.tz), "payload": slot_payload(slot, self.intent)}

    async def by_id(self, slot_id: int, now: datetime) -> Outcome:
        """A slot picked from our own numbered options (its id)."""
        slots = await self.api.list_slots(now.date(), now.date() + timedelta(days=SEARCH_DAYS), self.service.code)
        picked = next((s for s in slots if s.id == slot_id), None)
        if picked is not None:
            return Outcome(slot=picked)
        await self._offer(slots, now, now, "En ese horario")
        return Outcome(asked=True)

    async def resolve(self, when: When, now: datetime) -> Outcome:
        if when.is_empty:
            self.replier.validation_error("utter_horario_no_entendido", "fecha")
            return Outcome(asked=True)
        if when.unclear_day or (when.other_day and when.day is None and when.day_range is None):
            await self._ask_day(when)
            return Outcome(understood=when if when.times else None, asked=True)
        if when.day is None and when.day_range is not None:
            await self._offer_range(when, now)
            return Outcome(understood=when, asked=True)
        if when.day is None:
            await self._ask_day(when)
            return Outcome(understood=when, asked=True)
        if not when.times:
            await self._hours_of(when.day, when, now)
            return Outcome(understood=when, asked=True)
        return await self._at(when.day, when, now)

    async def _at(self, day: date, when: When, now: datetime) -> Outcome:
        slots = await self.api.list_slots(day - timedelta(days=1), day + timedelta(days=3), self.service.code, False)
        found = [choice.slot for moment in when.times
                 if (choice := choose_slot(slots, self._moment(day, moment), now)).slot is not None]
        if len(found) == 1:
            return Outcome(slot=found[0], understood=when)
        if len(found) > 1:
            await self.replier.say(
                "utter_horario_elegir", {"servicio_nombre": self.service.name, "dia_texto": f"el {day_text(day)}"},
                buttons=[self.button(s) for s in found])
            return Outcome(understood=when, asked=True)
        wanted = self._moment(day, when.times[0])
        await self._offer(slots, wanted, now, f"El {when_text(wanted, self.tz)}", exact=True)
        return Outcome(understood=when, asked=True)

    async def _hours_of(self, day: date, when: When, now: datetime) -> None:
        slots = await self.api.list_slots(day, day, self.service.code)
        free = [s for s in slots if s.available > 0 and s.starts_at > now]
        if free:
            await self.replier.say(
                "utter_horario_falta_hora",
                {"dia_texto": day_text(day), "lista_horas": join_es([time_text(s.starts_at, self.tz) for s in free])},
            )
            return
        later = await self.api.list_slots(day, day + timedelta(days=3), self.service.code)
        wanted = datetime.combine(day, datetime.min.time(), ZoneInfo(self.tz))
        await self._offer(later, wanted, now, f"El {day_text(day)}")

    async def _offer_range(self, when: When, now: datetime) -> None:
        assert when.day_range is not None
        first, last = when.day_range
        slots = await self.api.list_slots(max(first, now.date()), last, self.service.code)
        free = [s for s in slots if s.available > 0 and s.starts_at > now]
        if when.times:
            wanted_times = set(when.times)
            free = [s for s in free if s.starts_at.astimezone(ZoneInfo(self.tz)).time() in wanted_times] or free
        if not free:
            await self.replier.say("utter_horario_sin_alternativas",
                                   {"servicio_nombre": self.service.name, "pedido_texto": "esos días"})
            return
        await self.replier.say(
            "utter_horario_elegir", {"servicio_nombre": self.service.name,
                                     "dia_texto": f"entre el {day_text(first)} y el {day_text(last)}"},
            buttons=[self.button(s) for s in free[:MAX_OPTIONS]])

    async def _ask_day(self, when: When) -> None:
        if when.times:
            await self.replier.say("utter_ask_dia_con_hora", {"hora_texto": " o ".join(
                t.strftime("%H:%M") for t in when.times)})
        else:
            await self.replier.say("utter_ask_dia")

    async def _offer(self, slots: List[Slot], wanted: datetime, now: datetime, asked: str,
                     exact: bool = False) -> None:
        """The nearest free slots instead of `wanted`. `exact`: the client named that hour; when the service
        has no slot then at all (not a full one), the reply says so instead of "no hay lugar"."""
        choice = choose_slot(slots, wanted, now)
        values = {"pedido_texto": asked, "servicio_nombre": self.service.name}
        if self.offer_waitlist and choice.full is not None:
            self.full = choice.full
            await self.replier.say(
                "utter_horario_lleno" if choice.alternatives else "utter_horario_lleno_sin_alternativas",
                {**values, "alternativas": join_es([when_text(s.starts_at, self.tz) for s in choice.alternatives])},
                buttons=[self.button(s) for s in choice.alternatives] + [waitlist_button(choice.full.id)],
            )
        elif choice.alternatives:
            none_then = exact and not any(s.starts_at == wanted for s in slots)
            await self.replier.say(
                "utter_horario_sin_clase" if none_then else "utter_horario_no_disponible",
                {**values, "alternativas": join_es([when_text(s.starts_at, self.tz) for s in choice.alternatives])},
                buttons=[self.button(s) for s in choice.alternatives],
            )
        else:
            await self.replier.say("utter_horario_sin_alternativas", values)

    def _moment(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, ZoneInfo(self.tz))


def said_this_turn(tracker: Tracker, templates: frozenset) -> bool:
    """Whether a bot message since the client's last message came from one of `templates`."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("template_name") in templates:
            return True
    return False


class AskMomentUnlessAnswered(AssistantAction, ABC):
    """A form's "¿Para qué día y hora?", silent when the validation already answered about the moment this
    turn (alternatives, the hours of a day, which day): the stock `utter_ask_<slot>` would follow "these are
    the nearest free slots" with a second, contradicting question."""

    response = ""
    slot = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        # Also silent when the moment is already settled this turn (the validation read it from the text
        # the NLU missed): "¿Para qué día y hora?" next to "Te reservo … ¿Lo confirmo?" contradicts it.
        if not said_this_turn(tracker, TEMPLATES) and not tracker.get_slot(self.slot):
            dispatcher.utter_message(response=self.response)
        return []
