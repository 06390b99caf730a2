"""consultar_horarios: free slots for a day (or the next days) and, optionally, a service."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.formatting import day_text, join_es, time_text
from actions.matching import pick_by_name
from actions.moments import heard_when
from rasa_project.booking_api.models import Service, Slot

DEFAULT_DAYS = 3
MAX_LINES = 12


def entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def schedule_lines(slots: List[Slot], tz: str) -> List[str]:
    """One line per day and service: 'viernes 27 de noviembre · Yoga Vinyasa: 08:00 y 19:00'."""
    grouped: OrderedDict[Tuple[str, str], List[str]] = OrderedDict()
    for slot in sorted(slots, key=lambda s: (s.starts_at, s.service_name)):
        local = slot.starts_at.astimezone(ZoneInfo(tz))
        grouped.setdefault((day_text(local.date()), slot.service_name), []).append(time_text(slot.starts_at, tz))
    return [f"{day} · {service}: {join_es(times)}" for (day, service), times in grouped.items()]


class ActionConsultarHorarios(AssistantAction):
    """Lists free slots (GET /schedule-slots), filtered by the day and service the client named."""

    def name(self) -> str:
        return "action_consultar_horarios"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        tz = self.services.settings.business_timezone
        now = datetime.now(ZoneInfo(tz))
        when = heard_when(tracker, now, tz)
        if when.day is not None:
            day_from = day_to = when.day
        elif when.day_range is not None:
            day_from, day_to = max(when.day_range[0], now.date()), when.day_range[1]
        else:  # no day named (or one not understood): the next days, never a guessed one
            day_from, day_to = now.date(), now.date() + timedelta(days=DEFAULT_DAYS - 1)
        async with replier.calling_api("list_slots") as call:
            service: Service | None = None
            asked_service = entity(tracker, "servicio")
            if asked_service:
                services = await self.services.booking_api.list_services()
                service = pick_by_name(asked_service, services, lambda s: s.code, lambda s: s.name)
            slots = await self.services.booking_api.list_slots(
                day_from, day_to, service.code if service else None
            )
        if call.failed:
            return call.events
        slots = [s for s in slots if s.available > 0 and s.starts_at > now]
        filters = []
        if service:
            filters.append(f"para {service.name}")
        if day_from == day_to:
            filters.append(f"el {day_text(day_from)}")
        else:
            filters.append(f"del {day_text(day_from)} al {day_text(day_to)}")
        values = {"filtro_texto": " ".join(filters)}
        if not slots:
            await replier.say("utter_horarios_vacio", values)
            return []
        lines = schedule_lines(slots, tz)
        await replier.say(
            "utter_horarios_listado",
            {**values, "lista_horarios": "\n".join(f"• {line}" for line in lines[:MAX_LINES])},
            {"slots": [{"id": s.id, "service": s.service_code, "starts_at": s.starts_at.isoformat()}
                       for s in slots[:40]]},
        )
        return []
