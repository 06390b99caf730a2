"""Greeting, goodbye, the help menu, and leaving a form: answered without the booking API."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import AssistantAction
from actions.formatting import first_name

# Every slot a form fills; leaving or finishing a form clears them so the next one starts clean.
FORM_SLOTS = (
    "servicio", "horario", "confirmar_reserva", "servicio_nombre", "horario_texto", "fecha_pedida",
    "nombre_registro", "email_registro",
    "reservas_cancelables", "reserva_a_cancelar", "reserva_texto", "confirmar_cancelacion", "plazo_vencido",
    "reservas_movibles", "reserva_a_mover", "reserva_mover_texto", "nuevo_horario", "nuevo_horario_texto",
    "confirmar_cambio",
    "paquete", "paquete_texto", "confirmar_pago",
    "campo_perfil", "valor_perfil", "confirmar_perfil",
)


def clear_form_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("requested_slot", None)]



def answers(tracker: Tracker, action: str) -> bool:
    """Whether the client's latest message answers `action`: the bot's last action before it (a reminder,
    an offer the bot sent first)."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return False
            seen_user = True
        elif kind == "action" and seen_user and event.get("name") not in ("action_listen", None):
            return event.get("name") == action
    return False

class ActionSaludo(AssistantAction):
    """Greets the client, by name when the booking API knows them."""

    def name(self) -> str:
        return "action_saludo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        name = first_name(tracker.get_slot("nombre_cliente"))
        values = {"negocio": self.services.settings.business_name}
        if name:
            await self.replier(dispatcher, tracker, domain).say("utter_saludo_cliente", {**values, "nombre": name})
        else:
            await self.replier(dispatcher, tracker, domain).say("utter_saludo", values)
        return []


class ActionDespedida(AssistantAction):
    """Says goodbye, by name when known."""

    def name(self) -> str:
        return "action_despedida"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        name = first_name(tracker.get_slot("nombre_cliente"))
        replier = self.replier(dispatcher, tracker, domain)
        if name:
            await replier.say("utter_despedida_cliente", {"nombre": name})
        else:
            await replier.say("utter_despedida")
        return []


class ActionAyuda(AssistantAction):
    """Lists what the bot can do as numbered options (the channel maps "2" back to the option)."""

    def name(self) -> str:
        return "action_ayuda"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        buttons = domain["responses"]["utter_ayuda"][0]["buttons"]
        await self.replier(dispatcher, tracker, domain).say("utter_ayuda", buttons=buttons)
        return []


class ActionRepetirPregunta(AssistantAction):
    """Says nothing: it lets the form ask its question again (with its example) after an answer that did not
    fit it ("sí" to "¿para qué día?"), instead of "¡Perfecto!" followed by the same question."""

    def name(self) -> str:
        return "action_repetir_pregunta"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return []


class ActionAbandonarFormulario(AssistantAction):
    """Leaves the active form when the client changes their mind, forgetting what it had filled."""

    def name(self) -> str:
        return "action_abandonar_formulario"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return [ActiveLoop(None), *clear_form_slots()]
