"""What the channel owns while the server runs: engine, stores, Twilio client, dispatcher, worker.

Lifecycle (Sanic listeners registered by the channel's blueprint):
- before_server_start → `open()`: engine, fail fast when the database is unreachable, migrations,
  Twilio client (its aiohttp session must be created inside the running loop);
- after_server_start → `start_worker()`: after Rasa loaded its agent (also before_server_start), so
  the first turn never finds `app.ctx.agent` missing; the first poll picks up what a crash left;
- before_server_stop → `stop_worker()`: running turns get a grace period, then their rows go back
  to pending; after_server_stop → `close()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Optional

from sqlalchemy.engine import Engine

from connectors.whatsapp.dispatcher import OutboundDispatcher
from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.turn import AgentLookup, OnNewMessage, TurnProcessor
from connectors.whatsapp.twilio_gateway import TwilioGateway
from connectors.whatsapp.worker import InboxWorker
from rasa_project.conversation_log.database import check_reachable, create_log_engine
from rasa_project.conversation_log.migrations import migrate
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)


def warn_if_unsigned(settings: Settings) -> None:
    if not settings.webhook_validate_signature:
        logger.warning(
            "!!! WEBHOOK_VALIDATE_SIGNATURE is off: the WhatsApp webhook accepts UNSIGNED requests; anyone "
            "who can reach it can impersonate any client. Never run like this in production. !!!")


class ChannelRuntime:
    def __init__(self, settings: Settings, on_new_message: OnNewMessage) -> None:
        self.settings = settings
        self.on_new_message = on_new_message
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.engine: Optional[Engine] = None
        self.inbox: Optional[InboxStore] = None
        self.senders: Optional[SenderStore] = None
        self.outbound: Optional[OutboundStore] = None
        self.gateway: Optional[TwilioGateway] = None
        self.dispatcher: Optional[OutboundDispatcher] = None
        self.worker: Optional[InboxWorker] = None
        self.worker_running = False

    async def open(self, agent: AgentLookup = lambda: None) -> None:
        """`agent` returns Rasa's current agent (None in tests that host the channel alone)."""
        warn_if_unsigned(self.settings)
        self.engine = create_log_engine(self.settings.tracker_db_url, self.settings)
        await asyncio.to_thread(check_reachable, self.engine)
        applied = await asyncio.to_thread(migrate, self.engine)
        if applied:
            logger.info("Conversation-log migrations applied: %s", ", ".join(applied))
        self.inbox = InboxStore(self.engine)
        self.senders = SenderStore(self.engine)
        self.outbound = OutboundStore(self.engine)
        self.gateway = TwilioGateway(self.settings)
        self.dispatcher = OutboundDispatcher(self.gateway, self.outbound, self.senders)
        processor = TurnProcessor(self.settings, self.inbox, self.senders, self.dispatcher,
                                  self.on_new_message, self.owner, agent)
        self.worker = InboxWorker(self.settings, self.inbox, processor, self.owner)

    def start_worker(self) -> None:
        if self.worker is None:
            raise RuntimeError("WhatsApp channel runtime not opened (before_server_start did not run)")
        self.worker.start()
        self.worker_running = True
        logger.info("WhatsApp inbox worker %s started", self.owner)

    async def stop_worker(self, grace_seconds: float = 10.0) -> None:
        if self.worker is not None and self.worker_running:
            self.worker_running = False
            await self.worker.stop(grace_seconds)

    async def close(self) -> None:
        await self.stop_worker()
        if self.gateway is not None:
            await self.gateway.close()
            self.gateway = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
