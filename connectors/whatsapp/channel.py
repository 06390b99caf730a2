"""`WhatsAppInput`: our Twilio WhatsApp channel for Rasa (`connectors.whatsapp.WhatsAppInput: {}`).

Replaces `rasa/core/channels/twilio.py` (see the Channel section of rasa-pitfalls.md): signed
webhooks only, "¡"/"¿" kept, media/location/buttons understood, a durable inbox with a fast ack and an
in-order per-sender worker, ordered outbound sends with retries. Everything comes from settings;
credentials.yml carries nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint

from connectors.whatsapp.lifecycle import ChannelRuntime, warn_if_unsigned
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.paths import CHANNEL_NAME
from connectors.whatsapp.routes import build_blueprint
from rasa_project.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class WhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> WhatsAppInput:
        if credentials:
            logger.warning("credentials.yml entries for %s are ignored (%s); settings come from the "
                           "environment", cls.__name__, ", ".join(sorted(credentials)))
        return cls(get_settings())

    def __init__(self, settings: Optional[Settings] = None) -> None:
        self.settings = settings or get_settings()
        self.runtime: Optional[ChannelRuntime] = None
        warn_if_unsigned(self.settings)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        self.runtime = ChannelRuntime(self.settings, on_new_message)
        return build_blueprint(self.runtime)

    def get_output_channel(self) -> Optional[OutputChannel]:
        """For proactive messages (reminders, waitlist): status callbacks need `webhook_public_url`. Each message
        reads the client's medium and window (docs/whatsapp-window.md); send `{"template": ...}` custom JSON."""
        parts = self.runtime.parts if self.runtime is not None else None
        if parts is None:
            return None
        return WhatsAppOutput(parts.sender, parts.senders, public_base_url=self.settings.webhook_public_url or None)
