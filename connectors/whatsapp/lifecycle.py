"""What the channel owns while the server runs, and when each piece starts and stops.

`ChannelRuntime` builds every collaborator once and hands each its own: stores over the shared
conversation-log engine, the Twilio client, the outbound sender, the turn processor, the inbox worker.
`register_lifecycle` ties it to Sanic's listeners on the channel's blueprint:
- before_server_start → `open()`: the engine (shared with the tracker store: checked and migrated once
  per process; fails fast when the database is unreachable) and the Twilio client (its aiohttp session
  must be created inside the running loop);
- after_server_start → Rasa's agent is wired from settings (`agent_setup.py`), then `start_worker()`:
  after Rasa loaded its agent (also before_server_start), so the first turn never finds
  `app.ctx.agent` missing; the first poll picks up what a crash left; the handoff loops (idle
  hand-back, notifications: `handoff_loops.py`) start with it; then what start-up built is frozen out of
  garbage collection (`rasa_project/garbage_collection.py`);
  with `REMINDERS_IN_PROCESS=true` the reminder loops (`rasa_project/reminders/runner.py`: sync and
  scheduler, waking this worker's drains) start with it, on their own booking-API client;
- before_server_stop → `stop_worker()`: running turns get a grace period, then their rows go back
  to pending; after_server_stop → `close()`.

Two roles (docs/deployment.md). `rasa` (the default, inside `rasa run`): everything above, and with
`INBOX_NOTIFY` on Postgres an `InboxListener` (`inbox_notify.py`) that wakes the worker when another
process stored a message. `ingress` (`python -m rasa_project ingress`, `ingress.py`): only what the
Twilio routes need (the engine, the inbox that NOTIFYs, the outbound and sender stores, the Twilio
client for a 63016's template retry); no worker, no turn processor, no agent, no background loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from sanic import Blueprint
from sqlalchemy.engine import Engine

from connectors.whatsapp.agent_setup import configure_agent
from connectors.whatsapp.chatwoot_webhook import HelpdeskParts
from connectors.whatsapp.handoff_loops import HandoffLoops
from connectors.whatsapp.inbox_notify import InboxListener, is_postgres_url
from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.outbound_store import OutboundStore
from connectors.whatsapp.sender import OutboundSender
from connectors.whatsapp.sender_store import SenderStore
from connectors.whatsapp.turn import AgentLookup, OnNewMessage, TurnProcessor
from connectors.whatsapp.twilio_client import TwilioClient
from connectors.whatsapp.worker import InboxWorker
from rasa_project import stack_dump
from rasa_project.conversation_log.database import shared_engine
from rasa_project.garbage_collection import after_startup
from rasa_project.handoff.store import HandoffStore
from rasa_project.settings import Settings
from rasa_project.transcription import Transcriber

if TYPE_CHECKING:
    from rasa_project.reminders.in_process import InProcessReminders

logger = logging.getLogger(__name__)


def warn_if_unsigned(settings: Settings) -> None:
    if not settings.webhook_validate_signature:
        logger.warning(
            "!!! WEBHOOK_VALIDATE_SIGNATURE is off: the WhatsApp webhook accepts UNSIGNED requests; anyone "
            "who can reach it can impersonate any client. Never run like this in production. !!!")


class ChannelNotOpen(RuntimeError):
    """A route or the output channel was used before `before_server_start` opened the runtime."""


@dataclass(frozen=True)
class ChannelParts:
    """Everything the channel built when the server started, each piece handed its collaborators."""

    engine: Engine
    inbox: InboxStore
    senders: SenderStore
    outbound: OutboundStore
    twilio: TwilioClient
    sender: OutboundSender
    worker: Optional[InboxWorker]  # None in the ingress role
    transcriber: Optional[Transcriber]
    handoffs: HandoffStore
    handoff_loops: Optional[HandoffLoops]  # None in the ingress role


RASA, INGRESS = "rasa", "ingress"


class ChannelRuntime:
    def __init__(self, settings: Settings, on_new_message: OnNewMessage, role: str = RASA) -> None:
        if role not in (RASA, INGRESS):
            raise ValueError(f"unknown channel role {role!r}")
        self.settings = settings
        self.on_new_message = on_new_message
        self.role = role
        self.listener: Optional[InboxListener] = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.parts: Optional[ChannelParts] = None
        self.worker_running = False
        self.helpdesk: Optional[HelpdeskParts] = None  # the Chatwoot mirror, when chatwoot_base_url is set
        self.reminders: Optional[InProcessReminders] = None  # when reminders_in_process is set

    @property
    def opened(self) -> ChannelParts:
        if self.parts is None:
            raise ChannelNotOpen("WhatsApp channel runtime not opened (before_server_start did not run)")
        return self.parts

    async def open(self, agent: AgentLookup = lambda: None) -> None:
        """`agent` returns Rasa's current agent (None in tests that host the channel alone)."""
        stack_dump.install()  # kill -USR1 <pid>: where every task is (a turn that never ends)
        engine = await asyncio.to_thread(shared_engine, self.settings.tracker_db_url, self.settings)
        inbox = InboxStore(engine, notify=self.settings.inbox_notify)
        senders, outbound = SenderStore(engine), OutboundStore(engine)
        twilio = TwilioClient(self.settings)
        sender = OutboundSender(twilio, outbound, senders)
        handoffs = HandoffStore(engine)
        if self.is_ingress:
            self.parts = ChannelParts(engine, inbox, senders, outbound, twilio, sender, None, None, handoffs, None)
            return
        transcriber = Transcriber.from_settings(self.settings)
        processor = TurnProcessor(self.settings, inbox, senders, outbound, sender, self.on_new_message,
                                  self.owner, agent, transcriber, handoffs)
        worker = InboxWorker(self.settings, inbox, processor, self.owner)
        self.parts = ChannelParts(engine, inbox, senders, outbound, twilio, sender, worker, transcriber,
                                  handoffs, HandoffLoops(self.settings, handoffs, agent))
        self.helpdesk = HelpdeskParts.build(self.settings, engine, self, agent)

    @property
    def is_ingress(self) -> bool:
        return self.role == INGRESS

    @property
    def serving(self) -> bool:
        """What the liveness route reports: the worker runs (rasa), or the routes are open (ingress)."""
        return self.parts is not None if self.is_ingress else self.worker_running

    def wake(self, sender_id: str, row_id: Optional[int] = None) -> None:
        """A message of `sender_id` was stored here: this process's worker drains it now (rasa role). An
        ingress has no worker: its insert's NOTIFY wakes the Rasa processes. The insert's NOTIFY reaches
        this worker too; both name the row, so the second costs the drain no claim (`worker.py`)."""
        worker = self.opened.worker
        if worker is not None:
            worker.wake(sender_id, "local", row_id)

    def start_worker(self) -> None:
        parts = self.opened
        if parts.worker is None or parts.handoff_loops is None:
            return  # ingress role: nothing runs in the background
        parts.worker.start()
        if self.settings.inbox_notify and is_postgres_url(self.settings.tracker_db_url):
            self.listener = InboxListener(self.settings.tracker_db_url, parts.worker.wake_from_notify,
                                          on_connected=parts.worker.poll_soon)
            self.listener.start()
        if self.helpdesk is not None:
            self.helpdesk.mirror.start()
        parts.handoff_loops.start()
        if self.settings.reminders_in_process:
            from rasa_project.reminders.in_process import InProcessReminders  # imports the channel's tables

            self.reminders = InProcessReminders(self.settings, parts.engine, parts.worker.wake, self.owner)
            self.reminders.start()
        self.worker_running = True
        logger.info("WhatsApp inbox worker %s started", self.owner)

    async def stop_worker(self, grace_seconds: float = 10.0) -> None:
        if self.parts is not None and self.worker_running:
            self.worker_running = False
            if self.listener is not None:
                await self.listener.stop()
                self.listener = None
            if self.reminders is not None:
                await self.reminders.stop()
                self.reminders = None
            if self.helpdesk is not None:
                await self.helpdesk.mirror.stop()
            if self.parts.handoff_loops is not None:
                await self.parts.handoff_loops.stop()
            if self.parts.worker is not None:
                await self.parts.worker.stop(grace_seconds)

    async def close(self) -> None:
        await self.stop_worker()
        if self.helpdesk is not None:
            await self.helpdesk.close()
            self.helpdesk = None
        if self.parts is not None:
            await self.parts.twilio.close()
            if self.parts.transcriber is not None:
                await self.parts.transcriber.aclose()
            self.parts = None


def register_lifecycle(bp: Blueprint, runtime: ChannelRuntime) -> None:
    """The Sanic listeners that open, start, stop and close `runtime` with the server."""

    @bp.listener("before_server_start")
    async def _open(app: Any, loop: Any) -> None:
        await runtime.open(agent=lambda: getattr(app.ctx, "agent", None))

    @bp.listener("after_server_start")
    async def _start(app: Any, loop: Any) -> None:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:  # Rasa loaded it in its own before_server_start listener
            configure_agent(agent, runtime.settings)
        runtime.start_worker()
        # the model (Rasa's role) and every module are loaded: full collections need not walk them again
        after_startup(runtime.role, runtime.settings.gc_freeze_after_start)

    @bp.listener("before_server_stop")
    async def _stop(app: Any, loop: Any) -> None:
        await runtime.stop_worker()

    @bp.listener("after_server_stop")
    async def _close(app: Any, loop: Any) -> None:
        await runtime.close()
