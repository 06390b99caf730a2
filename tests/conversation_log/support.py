"""A small booking domain and scripted turns shared by the conversation-log tests (fixtures live in conftest.py)."""

from __future__ import annotations

import itertools
from typing import Any, List, Optional

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUttered,
)

DOMAIN_YAML = """
version: "3.1"
intents: [saludo, reservar, informar, afirmar, cancelar, fuera_de_alcance]
entities: [servicio, fecha]
slots:
  servicio:
    type: text
    mappings: [{type: from_entity, entity: servicio}]
  fecha:
    type: text
    mappings: [{type: from_entity, entity: fecha}]
  confirmado:
    type: bool
    mappings: [{type: custom}]
  visitas:
    type: float
    influence_conversation: false
    mappings: [{type: custom}]
forms:
  reserva_form:
    required_slots: [servicio, fecha]
responses:
  utter_saludo: [{text: "¡Hola!"}]
  utter_confirmar: [{text: "¿Confirmo?"}]
  utter_listo: [{text: "Listo"}]
  utter_default: [{text: "No entendí"}]
actions: [action_crear_reserva]
"""

_clock = itertools.count(1_700_000_000)


def ts() -> float:
    return float(next(_clock))


def domain() -> Domain:
    return Domain.from_yaml(DOMAIN_YAML)


def user(
    intent: str, text: Optional[str] = None, entities: Optional[list] = None, confidence: float = 0.93
) -> UserUttered:
    text = text or intent
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }
    return UserUttered(text, parse["intent"], entities or [], parse_data=parse, timestamp=ts())


def act(name: str) -> ActionExecuted:
    return ActionExecuted(name, timestamp=ts())


def bot(text: str, metadata: Optional[dict] = None) -> BotUttered:
    return BotUttered(text, metadata=metadata or {}, timestamp=ts())


def session_start() -> List[Event]:
    return [act("action_session_start"), SessionStarted(timestamp=ts()), act("action_listen")]


def turn(i: int) -> List[Event]:
    """Turn `i` of a scripted conversation that cycles greetings, a form, an interruption and a booking."""
    step = i % 7
    if step == 0:
        return [user("saludo", "hola"), act("utter_saludo"), bot("¡Hola!"), act("action_listen")]
    if step == 1:
        return [
            user("reservar", "quiero reservar"),
            act("reserva_form"),
            ActiveLoop("reserva_form", timestamp=ts()),
            SlotSet("requested_slot", "servicio", timestamp=ts()),
            act("action_listen"),
        ]
    if step == 2:
        ent = [{"entity": "servicio", "value": f"masaje {i}", "start": 0, "end": 6}]
        return [
            user("informar", f"masaje {i}", ent),
            act("reserva_form"),
            SlotSet("servicio", f"masaje {i}", timestamp=ts()),
            SlotSet("requested_slot", "fecha", timestamp=ts()),
            act("action_listen"),
        ]
    if step == 3:
        return [
            user("fuera_de_alcance", "¿y el precio?", confidence=0.41),
            act("reserva_form"),
            LoopInterrupted(True, timestamp=ts()),
            act("utter_default"),
            bot("No entendí"),
            act("reserva_form"),
            LoopInterrupted(False, timestamp=ts()),
            act("action_listen"),
        ]
    if step == 4:
        ent = [{"entity": "fecha", "value": "15/12/2026", "start": 0, "end": 10}]
        return [
            user("informar", "15/12/2026", ent),
            act("reserva_form"),
            SlotSet("fecha", "15/12/2026", timestamp=ts()),
            SlotSet("requested_slot", None, timestamp=ts()),
            ActiveLoop(None, timestamp=ts()),
            act("utter_confirmar"),
            bot("¿Confirmo?"),
            act("action_listen"),
        ]
    if step == 5:
        return [
            user("afirmar", "sí"),
            act("action_crear_reserva"),
            SlotSet("confirmado", True, timestamp=ts()),
            SlotSet("visitas", float(i), timestamp=ts()),
            bot("Reserva RSV-1001 creada", {"event": "booking_created"}),
            act("action_listen"),
        ]
    return [
        user("cancelar", "olvídalo"),
        act("utter_listo"),
        bot("Listo"),
        SlotSet("servicio", None, timestamp=ts()),
        SlotSet("confirmado", False, timestamp=ts()),
        act("action_listen"),
    ]


async def write_session(store: Any, sender: str, events: List[Event]) -> None:
    """Append `events` to the sender's log as one save, the way a Rasa turn does: the sender's current
    tracker (or a new one) updated with them."""
    tracker = await store.retrieve(sender) or store.init_tracker(sender)
    for event in events:
        tracker.update(event)
    await store.save(tracker)


def rasa_response(name: str, text: str, timestamp: float) -> List[Event]:
    """A domain response uttered by Rasa itself (a rule's `utter_*`): its BotUttered carries `utter_action`."""
    return [ActionExecuted(name, timestamp=timestamp), BotUttered(text, metadata={"utter_action": name},
                                                                  timestamp=timestamp)]


def replier_message(template: str, timestamp: float, *, event: Optional[str] = None,
                    facts: Optional[dict] = None, error: Optional[dict] = None) -> BotUttered:
    """A bot message as `actions/replies.py` sends it: template name, facts, and the business event."""
    metadata: dict = {"template_name": template, "facts": dict(facts or {})}
    if event:
        metadata["event"] = event
    if error:
        metadata["error"] = error
    return BotUttered(f"({template})", metadata=metadata, timestamp=timestamp)
