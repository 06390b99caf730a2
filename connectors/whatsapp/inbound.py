"""Twilio's inbound WhatsApp form → the message we store and later hand to Rasa.

The stock connector reads only `From`/`Body` (media-only messages crash it, "¡" becomes "@"). Here
every message yields a text Rasa can answer plus metadata with what the text cannot hold:

- text: the sanitized, redacted `Body`; `ButtonPayload` for a button reply; without words, the intent
  payload `/enviar_media` (any media) or `/enviar_ubicacion`, so Rasa answers them by rule (domain
  intents enviar_media / enviar_ubicacion) instead of guessing an intent from a placeholder word;
  `[mensaje vacío]` for an empty message.
- metadata: message_sid, profile_name, wa_id, medium ("whatsapp" | "sms": SMS posts reach the same
  webhook with a bare `From`), media [{url, content_type}], location
  {latitude, longitude, address, label} or None, button {payload, text} or None, kind
  ("text" | "button" | "media" | "location" | "empty").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from connectors.whatsapp.sanitize import sanitize_text
from rasa_project.phones import SMS, WHATSAPP, Address, InvalidPhone

# What Rasa receives for a message without words (the details travel in metadata).
MEDIA_PAYLOAD = "/enviar_media"
LOCATION_PAYLOAD = "/enviar_ubicacion"
EMPTY_TEXT = "[mensaje vacío]"

_SID = re.compile(r"[A-Za-z0-9]{1,64}")  # Twilio's are 34 (`SM` + 32 hex); the column holds 64
_MAX_MEDIA = 10


class InvalidInbound(ValueError):
    """The form lacks what any Twilio message has (From, MessageSid); nothing can be processed."""


@dataclass(frozen=True)
class InboundMessage:
    message_sid: str
    sender_id: str  # E.164 with "+", no "whatsapp:" prefix
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def profile_name(self) -> Optional[str]:
        return self.metadata.get("profile_name")

    @property
    def medium(self) -> str:
        """`phones.WHATSAPP` or `phones.SMS`: how the client wrote, so the reply goes the same way."""
        return SMS if self.metadata.get("medium") == SMS else WHATSAPP


def _get(form: Mapping[str, Any], key: str) -> str:
    """One value of a form field (Sanic's form holds lists), '' when absent."""
    value = form.get(key)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return str(value).strip() if value is not None else ""


def sender_from_address(address: str) -> str:
    """`whatsapp:+5215512345678` (WhatsApp) or `+5215512345678` (SMS) → `+5215512345678`; raises
    `InvalidInbound` otherwise."""
    return sender_address(address).number


def sender_address(address: str) -> Address:
    """Twilio's `From`: the number and the medium (SMS posts come to the same webhook, no prefix)."""
    try:
        return Address.parse(address)
    except InvalidPhone:
        raise InvalidInbound(f"From is not a WhatsApp or SMS E.164 address: {address!r}") from None


def _media(form: Mapping[str, Any]) -> List[Dict[str, str]]:
    try:
        count = int(_get(form, "NumMedia") or "0")
    except ValueError:
        count = 0
    items = []
    for index in range(min(max(count, 0), _MAX_MEDIA)):
        url = _get(form, f"MediaUrl{index}")
        if url:
            items.append({"url": url, "content_type": _get(form, f"MediaContentType{index}").lower()})
    return items


def _float(raw: str) -> Optional[float]:
    try:
        return float(raw)
    except ValueError:
        return None


def _location(form: Mapping[str, Any], max_length: int) -> Optional[Dict[str, Any]]:
    latitude, longitude = _float(_get(form, "Latitude")), _float(_get(form, "Longitude"))
    if latitude is None or longitude is None:
        return None
    return {
        "latitude": latitude,
        "longitude": longitude,
        "address": sanitize_text(_get(form, "Address"), max_length) or None,
        "label": sanitize_text(_get(form, "Label"), max_length) or None,
    }


def parse_inbound_form(form: Mapping[str, Any], max_length: int) -> InboundMessage:
    """The message in `form`; raises `InvalidInbound` when From/MessageSid are missing or malformed."""
    message_sid = _get(form, "MessageSid") or _get(form, "SmsMessageSid")
    if not message_sid:
        raise InvalidInbound("MessageSid missing")
    if not _SID.fullmatch(message_sid):  # a NUL or an over-long SID would fail the insert: 500/503, re-sent forever
        raise InvalidInbound(f"MessageSid is not a Twilio SID: {message_sid[:80]!r}")
    address = sender_address(_get(form, "From"))
    sender_id = address.number
    body = sanitize_text(_get(form, "Body"), max_length)
    media = _media(form)
    location = _location(form, max_length)
    payload = sanitize_text(_get(form, "ButtonPayload"), max_length)
    button = {"payload": payload, "text": sanitize_text(_get(form, "ButtonText"), max_length) or body} \
        if payload else None

    if button:
        text, kind = payload, "button"
    elif body:
        text, kind = body, ("media" if media else "location" if location else "text")
    elif location:
        text, kind = LOCATION_PAYLOAD, "location"
    elif media:
        text, kind = MEDIA_PAYLOAD, "media"
    else:
        text, kind = EMPTY_TEXT, "empty"

    metadata = {
        "message_sid": message_sid,
        "profile_name": sanitize_text(_get(form, "ProfileName"), 200) or None,
        "wa_id": _get(form, "WaId") or sender_id.lstrip("+"),
        "kind": kind,
        "medium": address.medium,
        "media": media,
        "location": location,
        "button": button,
    }
    return InboundMessage(message_sid=message_sid, sender_id=sender_id, text=text, metadata=metadata)
