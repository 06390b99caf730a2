"""Twilio WhatsApp channel: `connectors.whatsapp.WhatsAppInput` in credentials.yml.

Map of the package (one concept per module):
signature (public URL + X-Twilio-Signature) · inbound (form → text + metadata) · sanitize ·
keywords (opt-out/in) · options (numbered buttons) · splitting (1,600-char parts) · texts (Spanish) ·
tables + inbox_store / sender_store / outbound_store (database) · twilio_gateway (client, retries) ·
dispatcher (ordered, recorded sends) · output (OutputChannel) · turn (gate + Rasa turn) ·
worker (per-sender drains + poller) · runtime (lifecycle) · routes (HTTP) · channel (InputChannel).
"""

from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppInput", "WhatsAppOutput"]
