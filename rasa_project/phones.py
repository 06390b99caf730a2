"""Phone numbers and Twilio addresses: the one E.164 rule of the project.

A client is their E.164 number ("+5215512345678"): it is Rasa's sender id, the booking API's
`X-Client-Phone`, and the key of every channel table. Twilio writes the same client as
"whatsapp:+5215512345678" on WhatsApp and "+5215512345678" on SMS, so the medium travels beside the
number (`Address`), never inside it. The channel, the actions, the booking client, settings and the
simulator all go through this module, so a number one of them accepts is accepted by all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ITU-T E.164: "+", a country code that does not start with 0, at most 15 digits in all. The shortest
# numbers in service have 7 digits (e.g. Saint Helena, +290 and 4 digits).
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
WHATSAPP_PREFIX = "whatsapp:"
WHATSAPP, SMS = "whatsapp", "sms"
_SEPARATORS = re.compile(r"[\s\-().]")


class InvalidPhone(ValueError):
    """Not a phone number in E.164 (with or without "+", spaces or a `whatsapp:` prefix)."""


def is_e164(value: str | None) -> bool:
    return bool(value) and E164.match(value or "") is not None


def without_prefix(raw: str | None) -> str:
    """"whatsapp:+52..." → "+52..."; anything else only stripped (it is not checked)."""
    text = (raw or "").strip()
    if text.lower().startswith(WHATSAPP_PREFIX):
        text = text[len(WHATSAPP_PREFIX):].strip()
    return text


def normalize_e164(raw: str | None) -> str:
    """"+52 1 55 1234-5678", "5215512345678" or "whatsapp:+52..." → "+5215512345678"; `InvalidPhone` otherwise."""
    number = "+" + _SEPARATORS.sub("", without_prefix(raw)).lstrip("+")
    if not E164.match(number):
        raise InvalidPhone(f"not an E.164 phone number: {raw!r}")
    return number


def phone_or_none(raw: str | None) -> str | None:
    """The E.164 number in `raw`, or None (a conversation id that is not a phone, e.g. `rasa shell`'s default)."""
    try:
        return normalize_e164(raw)
    except InvalidPhone:
        return None


@dataclass(frozen=True)
class Address:
    """A client as Twilio addresses them: their number and the medium (whatsapp or sms)."""

    number: str
    medium: str = WHATSAPP

    @classmethod
    def parse(cls, raw: str) -> Address:
        """Twilio's `From`/`To`: "whatsapp:+52..." is WhatsApp, a bare number is SMS."""
        medium = WHATSAPP if (raw or "").strip().lower().startswith(WHATSAPP_PREFIX) else SMS
        return cls(normalize_e164(raw), medium)

    @property
    def twilio(self) -> str:
        """The `To`/`From` value Twilio expects for this medium."""
        return whatsapp_address(self.number) if self.medium == WHATSAPP else self.number


def whatsapp_address(number: str) -> str:
    """"+52..." (or any form `normalize_e164` reads) → "whatsapp:+52..."."""
    return WHATSAPP_PREFIX + normalize_e164(number)
