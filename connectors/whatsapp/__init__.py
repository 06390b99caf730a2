"""Twilio WhatsApp channel: `connectors.whatsapp.WhatsAppInput` in credentials.yml.

One message, in the order it passes the modules:
channel (InputChannel) → paths + routes (HTTP) → signature (X-Twilio-Signature) → inbound (form →
text + metadata, via sanitize) → inbox_store (durable inbox) → worker (per-sender drains + poller) →
turn (one claimed message: gate → Rasa → final status) → gate (opt-in/out via keywords, rate limit,
"2" → payload via options) → Rasa → output (OutputChannel: splitting, options) → sender (one send at a
time per recipient, recorded in outbound_store) → twilio_client (the Twilio client: retries, backoff).
Beside the line: tables (the channel's tables and their helpers), sender_store (per-sender state),
retried_turn (what a retried turn must not repeat), notices (what the channel itself says),
lifecycle (ChannelRuntime and its Sanic listeners), agent_setup (what we change on Rasa's agent).
See docs/architecture.md.
"""

from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppInput", "WhatsAppOutput"]
