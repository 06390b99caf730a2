"""`POST /webhooks/whatsapp/chatwoot`: what the team does in Chatwoot, back into the WhatsApp conversation.

- `message_created`, outgoing, not private, by a Chatwoot user, and not one we posted (our mirror marks
  its posts with a `source_id`/`echo_id` starting `assistant:`): the agent's reply → `send_as_business`
  (to the client through our output channel, in the tracker as a BotUttered with metadata `helpdesk`);
- `conversation_status_changed` to `resolved` → `hand_back(..., by="helpdesk")`: the bot answers again.
Everything else (incoming and private messages, other statuses, the echo of our own status changes) is
acknowledged and ignored.

Authentication (`chatwoot_webhook_secret`): the `?token=` of the webhook URL (any Chatwoot version), or
`X-Chatwoot-Signature` = `sha256=` HMAC-SHA256(secret, "<X-Chatwoot-Timestamp>.<raw body>") with a
timestamp within 5 minutes (Chatwoot 4.x); both compared in constant time. Anything else is 401; with no
secret configured every request is 401 (never unauthenticated), and with the mirror off
(`chatwoot_base_url` empty) the route answers 404.

The work is done inline (one send or one resume, quick) so a failure can answer 500 and let Chatwoot's
retry do it again; each event is claimed once in `helpdesk_webhook_events`, so a re-delivery after a
success is acknowledged without acting twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Protocol

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine

from connectors.whatsapp import paths
from rasa_project.helpdesk.chatwoot_client import ChatwootClient
from rasa_project.helpdesk.handled import HandledEvents
from rasa_project.helpdesk.mirror import SOURCE_PREFIX, ConversationMap, HelpdeskMirror
from rasa_project.metrics import HELPDESK_WEBHOOKS
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
E164 = re.compile(r"\+[1-9]\d{6,14}")
EVENTS = ("message_created", "conversation_status_changed")


class HelpdeskActions(Protocol):
    """What an agent's actions become in the conversation (H1's `handoff_actions.py` in production)."""

    async def send_as_business(self, sender_id: str, text: str, author: Dict[str, Any]) -> None: ...

    async def hand_back(self, sender_id: str, by: str) -> None: ...


class RasaHelpdeskActions:
    """`connectors.whatsapp.handoff_actions` with the channel's runtime and Rasa's agent (imported when
    first used: that module imports the runtime, which builds this)."""

    def __init__(self, runtime: Any, agent: Callable[[], Any]) -> None:
        self._runtime, self._agent = runtime, agent

    @staticmethod
    def _module() -> Any:
        return importlib.import_module("connectors.whatsapp.handoff_actions")

    async def send_as_business(self, sender_id: str, text: str, author: Dict[str, Any]) -> None:
        await self._module().send_as_business(self._runtime, self._agent(), sender_id, text, author)

    async def hand_back(self, sender_id: str, by: str) -> None:
        await self._module().hand_back(self._agent(), sender_id, by=by)


@dataclass
class ChatwootWebhook:
    """The route's collaborators (mutable so tests can swap the actions)."""

    settings: Settings
    conversations: ConversationMap
    handled: HandledEvents
    actions: HelpdeskActions


def authenticated(secret: str, request: Request) -> bool:
    if not secret:
        return False
    token = request.args.get("token")
    if token and hmac.compare_digest(token.encode(), secret.encode()):
        return True
    signature = request.headers.get("X-Chatwoot-Signature") or ""
    timestamp = request.headers.get("X-Chatwoot-Timestamp") or ""
    if not signature or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + (request.body or b""), hashlib.sha256)
    return hmac.compare_digest(f"sha256={digest.hexdigest()}".encode(), signature.encode())


def _ours(message: Dict[str, Any]) -> bool:
    return any(str(message.get(key) or "").startswith(SOURCE_PREFIX) for key in ("source_id", "echo_id"))


async def _sender_of(hook: ChatwootWebhook, conversation: Dict[str, Any]) -> Optional[str]:
    """Our mapping first; else the contact inbox's source id when it is a number (we create them so)."""
    conversation_id = conversation.get("id")
    if conversation_id is None:
        return None
    sender = await asyncio.to_thread(hook.conversations.sender_of, int(conversation_id))
    if sender:
        return sender
    source_id = str((conversation.get("contact_inbox") or {}).get("source_id") or "")
    return source_id if E164.fullmatch(source_id) else None


async def _act(hook: ChatwootWebhook, key: str, event: str, outcome: str, act: Callable[[], Any]) -> HTTPResponse:
    if not await asyncio.to_thread(hook.handled.claim, key):
        HELPDESK_WEBHOOKS.labels(event=event, outcome="duplicate").inc()
        return response.json({"ok": True, "duplicate": True})
    try:
        await act()
    except Exception as exc:  # answer 500: Chatwoot retries, and the released key lets the retry act
        logger.exception("Chatwoot %s (%s) failed; released for Chatwoot's retry", event, key)
        await asyncio.to_thread(hook.handled.release, key)
        HELPDESK_WEBHOOKS.labels(event=event, outcome="failed").inc()
        return response.json({"ok": False, "error": type(exc).__name__}, status=500)
    HELPDESK_WEBHOOKS.labels(event=event, outcome=outcome).inc()
    return response.json({"ok": True})


def _ignored(event: str, why: str) -> HTTPResponse:
    HELPDESK_WEBHOOKS.labels(event=event, outcome="ignored").inc()
    return response.json({"ok": True, "ignored": why})


async def handle_event(hook: ChatwootWebhook, body: Dict[str, Any]) -> HTTPResponse:
    event = str(body.get("event") or "")
    label = event if event in EVENTS else "other"
    conversation = body.get("conversation") if event == "message_created" else body
    if not isinstance(conversation, dict) or event not in EVENTS:
        return _ignored(label, "event")
    if event == "message_created":
        sender = body.get("sender") or {}
        if body.get("message_type") != "outgoing" or body.get("private") or _ours(body):
            return _ignored(label, "not an agent's reply")
        if sender.get("type") != "user" or not str(body.get("content") or "").strip():
            return _ignored(label, "not an agent's text")
        sender_id = await _sender_of(hook, conversation)
        if sender_id is None:
            return _ignored(label, "unknown conversation")
        author = {"name": sender.get("name") or "Equipo", "id": sender.get("id"), "source": "chatwoot"}
        text, client = str(body["content"]), sender_id
        return await _act(hook, f"message:{body.get('id')}", label, "forwarded",
                          lambda: hook.actions.send_as_business(client, text, author))
    if body.get("status") != "resolved":
        return _ignored(label, "status")
    sender_id = await _sender_of(hook, conversation)
    if sender_id is None:
        return _ignored(label, "unknown conversation")
    key, client = f"resolved:{conversation.get('id')}:{body.get('updated_at')}", sender_id
    return await _act(hook, key, label, "handed_back", lambda: hook.actions.hand_back(client, "helpdesk"))


def add_chatwoot_route(bp: Blueprint, hook: Callable[[], Optional[ChatwootWebhook]], settings: Settings) -> None:
    """`hook()` gives the collaborators once the runtime is open (None while the mirror is off)."""

    @bp.route(paths.CHATWOOT_WEBHOOK, methods=["POST"])
    async def chatwoot_webhook(request: Request) -> HTTPResponse:
        if not settings.chatwoot_base_url:
            return response.json({"error": "the Chatwoot mirror is off"}, status=404)
        if not authenticated(settings.chatwoot_webhook_secret, request):
            HELPDESK_WEBHOOKS.labels(event="other", outcome="unauthorized").inc()
            logger.warning("Rejected a Chatwoot webhook: missing or wrong ?token= / X-Chatwoot-Signature")
            return response.json({"error": "unauthorized"}, status=401)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return response.json({"error": "expected a JSON body"}, status=400)
        current = hook()
        if current is None:
            return response.json({"error": "not ready"}, status=503)
        if not isinstance(body, dict):
            return response.json({"error": "expected a JSON object"}, status=400)
        return await handle_event(current, body)


@dataclass
class HelpdeskParts:
    """What the channel runs for Chatwoot when `chatwoot_base_url` is set: the client, the mirror loop
    (started and stopped with the inbox worker), the webhook's collaborators."""

    client: ChatwootClient
    mirror: HelpdeskMirror
    webhook: ChatwootWebhook

    @classmethod
    def build(cls, settings: Settings, engine: Engine, runtime: Any,
              agent: Callable[[], Any]) -> Optional[HelpdeskParts]:
        if not settings.chatwoot_base_url:
            return None
        if not settings.chatwoot_webhook_secret:
            logger.warning("CHATWOOT_WEBHOOK_SECRET is empty: every Chatwoot webhook will be refused (401), "
                           "so agent replies and resolves will not reach WhatsApp")
        client = ChatwootClient.from_settings(settings)
        webhook = ChatwootWebhook(settings, ConversationMap(engine), HandledEvents(engine),
                                  RasaHelpdeskActions(runtime, agent))
        return cls(client, HelpdeskMirror(engine, client), webhook)

    async def close(self) -> None:
        await self.mirror.stop()
        await self.client.aclose()
