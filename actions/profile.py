"""actualizar_perfil: which field (name or email), the new value checked for format, confirm, PATCH."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantAction, AssistantFormValidation
from actions.conversation import clear_form_slots
from actions.identity import client_phone
from actions.validators import clean_email, clean_name
from rasa_project.booking_api.errors import InvalidRequest

FIELD_WORDS = {"email": "correo", "nombre": "nombre"}


class ValidatePerfilForm(AssistantFormValidation):
    """Checks the new value's format for the field being changed; an email implies the field."""

    def name(self) -> str:
        return "validate_perfil_form"

    async def validate_valor_perfil(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        replier = self.replier(dispatcher, tracker, domain)
        text = str(value or "")
        field = tracker.get_slot("campo_perfil")
        if field is None:
            # "mi nuevo correo es ana@x.com" names the field through the value itself
            if clean_email(text):
                return {"campo_perfil": "email", "valor_perfil": clean_email(text)}
            return {"valor_perfil": None}
        if field == "email":
            email = clean_email(text)
            if email is None:
                replier.validation_error("utter_email_invalido", "email")
            return {"valor_perfil": email}
        name = clean_name(text)
        if name is None:
            replier.validation_error("utter_nombre_invalido", "nombre")
        return {"valor_perfil": name}


class ActionActualizarPerfil(AssistantAction):
    """Saves the confirmed change (PATCH /client/me)."""

    def name(self) -> str:
        return "action_actualizar_perfil"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        replier = self.replier(dispatcher, tracker, domain)
        done = clear_form_slots()
        field, value = tracker.get_slot("campo_perfil"), tracker.get_slot("valor_perfil")
        phone = client_phone(tracker)
        if tracker.get_slot("confirmar_perfil") is not True or not (field and value):
            await replier.say("utter_operacion_cancelada")
            return done
        if phone is None:
            await replier.say("utter_sin_telefono")
            return done
        async with replier.calling_api("update_client") as call:
            try:
                if field == "email":
                    client = await self.services.booking_api.update_client(phone, email=value)
                else:
                    client = await self.services.booking_api.update_client(phone, name=value)
            except InvalidRequest:
                replier.validation_error(
                    "utter_email_invalido" if field == "email" else "utter_nombre_invalido", field
                )
                return done
        if call.failed:
            return done + call.events
        await replier.say(
            "utter_perfil_actualizado",
            {"campo_texto": FIELD_WORDS[field], "valor": value},
            event="profile_updated",
        )
        return done + [SlotSet("nombre_cliente", client.name)]
