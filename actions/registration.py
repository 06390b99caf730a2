"""Registering an unknown WhatsApp number inside the forms that need a client (booking, paying).

A number the booking API does not know gets two more questions (name, email) at the start of the
form, and is registered just before the booking or purchase is made, so nothing is created for a
client who gives up halfway.
"""

from __future__ import annotations

from abc import ABC
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import AssistantFormValidation
from actions.replies import Replier
from actions.validators import clean_email, clean_name
from rasa_project.booking_api.errors import Conflict

REGISTRATION_SLOTS = ["nombre_registro", "email_registro"]


class RegisteringFormValidation(AssistantFormValidation, ABC):
    """Asks an unknown client's name and email (listed first in the domain form); skips them otherwise."""

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        if tracker.get_slot("cliente_registrado") is False:
            return list(domain_slots)
        return [slot for slot in domain_slots if slot not in REGISTRATION_SLOTS]

    async def validate_nombre_registro(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        name = clean_name(str(value or ""))
        if name is None:
            self.replier(dispatcher, tracker, domain).validation_error("utter_nombre_invalido", "nombre")
        return {"nombre_registro": name}

    async def validate_email_registro(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        email = clean_email(str(value or ""))
        if email is None:
            self.replier(dispatcher, tracker, domain).validation_error("utter_email_invalido", "email")
        return {"email_registro": email}


async def register_if_needed(replier: Replier, tracker: Tracker, phone: str) -> List[EventType]:
    """Registers the client when the form asked for their data and returns the slot events.

    Raises `BookingApiError` like any API call; the caller apologizes.
    """
    name, email = tracker.get_slot("nombre_registro"), tracker.get_slot("email_registro")
    if tracker.get_slot("cliente_registrado") is not False or not (name and email):
        return []
    api = replier.services.booking_api
    try:
        client = await api.register_client(phone, name, email)
    except Conflict:
        client = await api.get_client(phone)  # registered meanwhile (another device, the front desk)
    await replier.say(
        "utter_cliente_registrado", {"nombre": client.name, "email": client.email or email},
        event="client_registered",
    )
    return [SlotSet("nombre_cliente", client.name), SlotSet("cliente_registrado", True)]
