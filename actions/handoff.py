"""Handing the conversation to a person of the team, and the fallback that leads there.

`action_pasar_a_humano` tells the client a person will write (or, outside business hours, when) and
returns `ConversationPaused`: from then on Rasa logs every message and predicts nothing until the team
hands back (docs/handoff.md). Its bot message says `event: handoff_started` with `facts.reason`, which
the tracker store's hook copies onto the `handoffs` row. Any action can hand off: set the slot
`motivo_traspaso` and return `FollowupAction("action_pasar_a_humano")` (the payment flow does, after two
failed payment links in a session).

`action_no_entendi` is the fallback: the menu the first time, a handoff ('dos_fallbacks') when the
client's previous message of the session was not understood either.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.conversation import clear_form_slots
from actions.formatting import day_text
from actions.replies import Replier
from rasa_project.business_hours import BusinessHours
from rasa_project.settings import Settings, get_settings

REASON_SLOT = "motivo_traspaso"
DEFAULT_REASON = "pedido_del_cliente"
TWO_FALLBACKS = "dos_fallbacks"
HANDOFF_EVENT = "handoff_started"  # read by rasa_project/handoff/state.py
FALLBACK_INTENT = "nlu_fallback"


@functools.lru_cache(maxsize=8)
def _hours(hours: str, holidays: Tuple[str, ...], zone: str) -> BusinessHours:
    return BusinessHours.parse(hours, holidays, zone)


def business_hours(settings: Settings) -> BusinessHours:
    return _hours(settings.business_hours, tuple(settings.business_holidays), settings.business_timezone)


# A malformed BUSINESS_HOURS / BUSINESS_HOLIDAYS fails the action server's start-up (rasa-sdk imports
# every module of the package), not the first client who asks for a person.
business_hours(get_settings())


def when_text(opening: Optional[datetime], now: datetime, zone: Any) -> str:
    """"hoy a las 16:00", "mañana a las 09:00", "el lunes 7 de diciembre a las 09:00"."""
    if opening is None:
        return "en cuanto volvamos"
    local, today = opening.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    days = (local.date() - today).days
    if days == 0:
        return f"hoy a las {clock}"
    if days == 1:
        return f"mañana a las {clock}"
    return f"el {day_text(local.date())} a las {clock}"


async def hand_off(replier: Replier, tracker: Tracker, reason: str,
                   now: Optional[datetime] = None) -> List[EventType]:
    """The one path of every handoff: the reply (in or out of hours) and the events that pause the bot."""
    hours = business_hours(replier.services.settings)
    now = now or datetime.now(timezone.utc)
    in_hours = hours.is_open(now)
    opening = hours.next_opening(now)
    facts = {"reason": reason, "in_hours": in_hours, "next_open": opening.isoformat() if opening else None}
    if in_hours:
        await replier.say("utter_traspaso_humano", facts=facts, event=HANDOFF_EVENT)
    else:
        await replier.say("utter_traspaso_fuera_de_horario", {"cuando": when_text(opening, now, hours.zone)},
                          facts=facts, event=HANDOFF_EVENT)
    events: List[EventType] = [SlotSet(REASON_SLOT, None)]
    if (tracker.active_loop or {}).get("name"):
        events += [ActiveLoop(None), *clear_form_slots()]
    return events + [ConversationPaused()]


def _session_user_events(events: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            found = []
        elif event.get("event") == "user":
            found.append(event)
    return found


def previous_was_fallback(tracker: Tracker) -> bool:
    """Whether the client's message before the current one, in this session, was not understood either."""
    users = _session_user_events(tracker.events)
    if len(users) < 2:
        return False
    return ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") == FALLBACK_INTENT


class ActionPasarAHumano(AssistantAction):
    """Hands the conversation to the team (reason: slot `motivo_traspaso`, else the client asked)."""

    def name(self) -> str:
        return "action_pasar_a_humano"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reason = tracker.get_slot(REASON_SLOT) or DEFAULT_REASON
        return await hand_off(self.replier(dispatcher, tracker, domain), tracker, str(reason))


class ActionNoEntendi(AssistantAction):
    """The fallback: the menu, or a person after two messages in a row the bot did not understand."""

    def name(self) -> str:
        return "action_no_entendi"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        if previous_was_fallback(tracker):
            await replier.say("utter_traspaso_no_entendi")
            return await hand_off(replier, tracker, TWO_FALLBACKS)
        await replier.say("utter_default", buttons=domain["responses"]["utter_default"][0]["buttons"])
        return []
