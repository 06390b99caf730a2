"""The satisfaction question: "¿Qué tal te atendí?" with 1–5 after a finished booking, change, cancellation or
payment link, and the rating the client answers.

A rule runs `action_preguntar_valoracion` right after the action that finished the task, so the question
never interrupts a form; the action itself decides whether to ask: only when that action recorded a
completion this turn, at most once per client in `satisfaction_survey_days` days, and never right after a
question the client ignored (it skips once instead). The two slots that remember this survive a new
session (`actions/session.py` carries them over). The rating is a bot message whose metadata says
`event: satisfaction_rated` with `facts.valoracion` and `facts.sobre` (the task rated): the log's
`satisfaction_stats` view reads exactly that, and the action server counts it.
"""

from __future__ import annotations

import re
import time
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from rasa_project.metrics import SATISFACTION_QUESTIONS, SATISFACTION_RATINGS
from rasa_project.spanish_text import CARDINALS, fold

# What an action records when it finished a task (`Replier.say(..., event=...)`) → the task it was.
COMPLETIONS = {
    "booking_created": "agendar_cita",
    "booking_rescheduled": "reprogramar_cita",
    "booking_cancelled": "cancelar_cita",
    "purchase_created": "pagar_servicio",
}
ASKED_AT = "encuesta_pedida_en"  # Unix time of the last question
PENDING = "encuesta_pendiente"  # the task asked about, until the client rates it (or ignores it once)
RATING = "valoracion"
LOW_RATING = 2

_NUMBER = re.compile(r"(?<![\d/.,])([1-9]|10)(?![\d])")


def completed_task(tracker: Tracker) -> Optional[str]:
    """The task an action finished since the client's last message, if any."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return None
        if event.get("event") == "bot":
            task = COMPLETIONS.get(str((event.get("metadata") or {}).get("event") or ""))
            if task:
                return task
    return None


def rating_in(tracker: Tracker) -> Optional[int]:
    """The 1–5 rating of the latest message: its `valoracion` entity (a button's payload carries it), else
    the first number of the text, in digits or words ("un cuatro"). Anything else is None."""
    message = tracker.latest_message or {}
    candidates = [str(e.get("value")) for e in message.get("entities") or [] if e.get("entity") == RATING]
    candidates.append(str(message.get("text") or ""))
    for candidate in candidates:
        value = _number(candidate)
        if value is not None:
            return value if 1 <= value <= 5 else None
    return None


def _number(text: str) -> Optional[int]:
    match = _NUMBER.search(text)
    if match:
        return int(match.group(1))
    for word in re.findall(r"[a-z]+", fold(text)):
        if word in CARDINALS and word not in ("un", "una"):  # "un cuatro": the article is not a rating
            return int(CARDINALS[word])
    return None


class ActionPreguntarValoracion(AssistantAction):
    """Asks for a 1–5 rating after a finished task, when the rules above allow it; otherwise says nothing."""

    def name(self) -> str:
        return "action_preguntar_valoracion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        days = self.services.settings.satisfaction_survey_days
        task = completed_task(tracker)
        if days <= 0 or task is None or tracker.is_paused():  # handed off: the team talks now, not the bot
            return []
        if tracker.get_slot(PENDING):
            return [SlotSet(PENDING, None)]  # the last question went unanswered: not twice in a row
        now = time.time()
        asked_at = tracker.get_slot(ASKED_AT)
        if asked_at is not None and now - float(asked_at) < days * 86400:
            return []
        buttons = domain["responses"]["utter_preguntar_valoracion"][0]["buttons"]
        await self.replier(dispatcher, tracker, domain).say(
            "utter_preguntar_valoracion", facts={"sobre": task}, buttons=buttons, event="satisfaction_asked"
        )
        SATISFACTION_QUESTIONS.labels(task).inc()
        return [SlotSet(ASKED_AT, now), SlotSet(PENDING, task)]


class ActionRegistrarValoracion(AssistantAction):
    """Records the client's answer to the question: thanks them, or asks again for a number from 1 to 5."""

    def name(self) -> str:
        return "action_registrar_valoracion"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        task = tracker.get_slot(PENDING)
        if not task:
            # A rating nobody asked for is not a figure: the polite "no entendí" with the menu.
            await replier.say("utter_default", buttons=domain["responses"]["utter_default"][0]["buttons"])
            return []
        rating = rating_in(tracker)
        if rating is None:
            buttons = domain["responses"]["utter_preguntar_valoracion"][0]["buttons"]
            await replier.say("utter_valoracion_invalida", buttons=buttons)
            return []
        response = "utter_gracias_valoracion_baja" if rating <= LOW_RATING else "utter_gracias_valoracion"
        await replier.say(response, facts={"valoracion": rating, "sobre": task}, event="satisfaction_rated")
        SATISFACTION_RATINGS.labels(task, str(rating)).inc()
        return [SlotSet(RATING, float(rating)), SlotSet(PENDING, None)]
