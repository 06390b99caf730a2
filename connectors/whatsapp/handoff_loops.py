"""The handoff's loops in the Rasa process, started and stopped with the inbox worker (`lifecycle.py`).

- idle hand-back: every `IDLE_CHECK_SECONDS`, conversations with the team that had no message (client or
  team) for `handoff_idle_minutes` go back to the bot (`ended_by` 'idle_timeout'); 0 minutes = never.
  The claim is in the database (`HandoffStore.claim_idle`), so with two instances each conversation is
  handed back once.
- notifications: the 'notify' outbox rows to `handoff_notify_url` (`rasa_project/handoff/notify.py`),
  when it is set.
"""

from __future__ import annotations

import asyncio
import logging
from typing import List, Optional

import sqlalchemy as sa

from connectors.whatsapp.handoff_actions import NoAgent, hand_back
from connectors.whatsapp.turn import AgentLookup
from rasa_project.handoff.notify import HandoffNotifier
from rasa_project.handoff.store import HandoffStore
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)

IDLE_CHECK_SECONDS = 30.0
IDLE_TIMEOUT = "idle_timeout"


class IdleHandback:
    def __init__(self, store: HandoffStore, agent: AgentLookup, idle_minutes: float) -> None:
        self.store = store
        self.agent = agent
        self.idle_minutes = idle_minutes

    async def run_once(self) -> List[str]:
        """Hands back every idle conversation this instance claimed; returns their sender ids."""
        if self.idle_minutes <= 0 or self.agent() is None:
            return []
        claimed = await asyncio.to_thread(self.store.claim_idle, self.idle_minutes)
        for sender in claimed:
            try:
                if not await hand_back(self.agent(), sender, IDLE_TIMEOUT):
                    await asyncio.to_thread(self.store.close, sender, IDLE_TIMEOUT)  # its tracker was not paused
            except (NoAgent, sa.exc.SQLAlchemyError) as exc:
                logger.error("Idle hand-back of %s failed (%s: %s); retried after another idle period",
                             sender, type(exc).__name__, exc)
        return claimed


class HandoffLoops:
    def __init__(self, settings: Settings, store: HandoffStore, agent: AgentLookup,
                 check_seconds: float = IDLE_CHECK_SECONDS) -> None:
        self.idle = IdleHandback(store, agent, settings.handoff_idle_minutes)
        self.notifier = HandoffNotifier(store, settings.handoff_notify_url) if settings.handoff_notify_url else None
        self.check_seconds = check_seconds
        self._task: Optional[asyncio.Task] = None

    async def _idle_forever(self) -> None:
        while True:
            try:
                await self.idle.run_once()
            except Exception:  # a loop beside the conversation: logged, never fatal
                logger.exception("Idle hand-back check failed")
            await asyncio.sleep(self.check_seconds)

    def start(self) -> None:
        if self.idle.idle_minutes > 0:
            self._task = asyncio.create_task(self._idle_forever(), name="handoff-idle")
        if self.notifier is not None:
            self.notifier.start()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.notifier is not None:
            await self.notifier.stop()
