"""Every HTTP path of the channel, in one place: the routes are registered from these, and the URLs we
hand to Twilio (status callbacks) are built from them.

Rasa mounts an input channel's blueprint at `/webhooks/<name>/`, so with the name `whatsapp` the
webhook Twilio calls is `/webhooks/whatsapp/webhook`.
"""

from __future__ import annotations

from typing import Optional

CHANNEL_NAME = "whatsapp"
PREFIX = f"/webhooks/{CHANNEL_NAME}"

# Relative to the blueprint (what the route decorators take).
READY = "/"  # liveness: the inbox is reachable and the worker runs
HEALTH = "/health"  # readiness: everything a turn needs
METRICS = "/metrics"
WEBHOOK = "/webhook"  # Twilio: "A message comes in"
STATUS = "/status"  # Twilio: status callbacks of our outbound messages
# The operator API (operator_api.py, docs/handoff.md): bearer token, JSON
OPERATOR_HANDOFFS = "/operator/handoffs"  # GET: conversations the team has now
OPERATOR_TRANSCRIPT = "/operator/conversations/<sender>/transcript"  # GET ?limit=50
OPERATOR_MESSAGES = "/operator/conversations/<sender>/messages"  # POST {text, author?}: write as the business
OPERATOR_HANDBACK = "/operator/conversations/<sender>/handback"  # POST: the bot answers again
CHATWOOT_WEBHOOK = "/chatwoot"  # Chatwoot: agent replies and resolved conversations (handoff)


def public_url(public_base_url: str, path: str) -> str:
    """`https://bot.example.com` + `/status` → `https://bot.example.com/webhooks/whatsapp/status`."""
    return f"{public_base_url.rstrip('/')}{PREFIX}{path}"


def status_callback_url(public_base_url: Optional[str]) -> Optional[str]:
    """Where Twilio reports the delivery of a message we send; None without a public base URL."""
    return public_url(public_base_url, STATUS) if public_base_url else None
