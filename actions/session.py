"""A new session: who the client is, so greetings and forms know it; a handoff goes on across it."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.identity import client_phone
from actions.satisfaction import ASKED_AT, PENDING
from rasa_project.booking_api.errors import BookingApiError, ClientNotFound

logger = logging.getLogger(__name__)

# Slots a new session keeps (the domain's carry_over_slots_to_new_session is off for the rest): when the
# satisfaction question was last asked, and whether it is still unanswered.
CARRIED_OVER = (ASKED_AT, PENDING)


class ActionSessionStart(AssistantAction):
    """Starts a session and looks the client up once, so every later turn can use their name. A session
    that expires while the team has the conversation starts paused (the handoff is not over)."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        if tracker.is_paused():
            # `SessionStarted` unpauses the tracker, but the team still has the conversation: pause again
            # (rasa_project/handoff/state.py sees a continuation, not a new handoff).
            events.append({"event": "pause", "timestamp": None, "metadata": {"continued": "session_start"}})
        events += [SlotSet(slot, tracker.get_slot(slot)) for slot in CARRIED_OVER if tracker.get_slot(slot) is not None]
        phone = client_phone(tracker)
        if phone:
            try:
                client = await self.services.booking_api.get_client(phone)
                events += [SlotSet("nombre_cliente", client.name), SlotSet("cliente_registrado", True)]
            except ClientNotFound:
                events.append(SlotSet("cliente_registrado", False))
            except BookingApiError as exc:
                # Unknown for now; the actions that need the client will ask the API again.
                logger.warning("client lookup at session start failed: %s (%s)", exc.kind, exc)
        events.append(ActionExecuted("action_listen"))
        return events
