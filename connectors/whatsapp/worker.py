"""The inbox worker: per sender in order, senders in parallel, resumes whatever a crash left behind.

The webhook `wake`s a sender right after storing its message (in this process), or a Postgres NOTIFY does
(`inbox_notify.py`: the message was stored by an ingress process or another instance); a poller (every
`inbox_poll_seconds`) wakes every sender with a ready message (pending out of backoff, or a lease that
expired because the instance processing it died), which is how messages accepted before a restart get processed. Each
woken sender gets at most one drain task in this process; the database claim (see `inbox_store.py`)
keeps order across processes.

With several instances (a shared lock store) a sender's next message is claimed by the instance that ran
the previous one (it holds the sender until its turn is finished), so senders would stick to the instance
they first landed on, however unevenly that fell. A busy instance (other turns running) therefore hands
the sender on instead of claiming its next message itself: a NOTIFY naming no row wakes every instance,
and the first free to claim runs it (bench/README.md: the two-instance balance).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, Optional

import sqlalchemy as sa

from connectors.whatsapp.inbox_store import InboxStore
from connectors.whatsapp.turn import TurnProcessor
from rasa_project.metrics import INBOX_BACKLOG, INBOX_HANDOFFS, INBOX_WAKEUPS
from rasa_project.settings import Settings

logger = logging.getLogger(__name__)


class InboxWorker:
    def __init__(self, settings: Settings, inbox: InboxStore, processor: TurnProcessor, owner: str) -> None:
        self.settings = settings
        self._turns_running = 0
        self.inbox = inbox
        self.processor = processor
        self.owner = owner
        self._drains: Dict[str, asyncio.Task] = {}
        self._wakeups: Dict[str, int] = {}
        self._unnamed: Dict[str, int] = {}  # wake-ups that named no message (poll, reminders)
        self._newest_named: Dict[str, int] = {}  # the newest message id a wake-up named
        self._poller: Optional[asyncio.Task] = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._poller = asyncio.create_task(self._poll_forever(), name="whatsapp-inbox-poller")

    def wake(self, sender_id: str, source: str = "local", row_id: Optional[int] = None) -> None:
        """Make sure a drain task runs for `sender_id` (and notices messages stored since it claimed).
        `row_id`: the message this wake-up is for, when known (the webhook's, a NOTIFY's); a drain that
        just ran that message or a newer one needs no further claim for it. `source` (local, notify,
        poll) only labels `whatsapp_inbox_wakeups_total`."""
        if self._stopping:
            return
        INBOX_WAKEUPS.labels(source=source).inc()
        self._wakeups[sender_id] = self._wakeups.get(sender_id, 0) + 1
        if row_id is None:
            self._unnamed[sender_id] = self._unnamed.get(sender_id, 0) + 1
        else:
            self._newest_named[sender_id] = max(self._newest_named.get(sender_id, 0), row_id)
        task = self._drains.get(sender_id)
        if task is None or task.done():
            self._drains[sender_id] = asyncio.create_task(self._drain(sender_id), name="whatsapp-drain")

    async def _drain(self, sender_id: str) -> None:
        try:
            while not self._stopping:
                seen = self._wakeups.get(sender_id, 0)
                unnamed = self._unnamed.get(sender_id, 0)
                claim = await asyncio.to_thread(self.inbox.claim_next, sender_id, self.owner,
                                                self.settings.inbox_lease_seconds,
                                                self.settings.rate_limit_window_seconds)
                if claim.row is not None:
                    self._turns_running += 1
                    try:
                        finished = await self.processor.process(claim.row)
                    finally:
                        self._turns_running -= 1
                    if not finished:
                        continue
                    if (not claim.more and self._unnamed.get(sender_id, 0) == unnamed
                            and self._newest_named.get(sender_id, 0) <= claim.row.id):
                        # Nothing waited behind it when claimed, and every wake-up since named this message
                        # or an older one: a message accepted meanwhile wakes us with its own, newer id, so
                        # a closing claim would find nothing (the poller still covers a lost NOTIFY).
                        return
                    if self._turns_running > 0 and self.inbox.notify and not self.processor.lock_is_local():
                        # several instances, and a NOTIFY reaches them (with the poller alone it would wait a poll)
                        await asyncio.to_thread(self.inbox.hand_off, sender_id)
                        INBOX_HANDOFFS.inc()
                        return
                    continue
                if claim.retry_in is not None and claim.retry_in <= self.settings.inbox_poll_seconds:
                    await asyncio.sleep(max(claim.retry_in, 0.01))
                    continue
                if self._wakeups.get(sender_id, 0) == seen:
                    return  # nothing ready; no wake-up arrived meanwhile (the poller covers the rest)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("Inbox drain for %s stopped by a database error (%s: %s); the poller retries",
                         sender_id, type(exc).__name__, exc)
        except Exception as exc:  # unexpected: logged with its type; the row's lease expires, poller retries
            logger.exception("Inbox drain for %s crashed (%s); the poller retries", sender_id, type(exc).__name__)
        finally:
            if self._drains.get(sender_id) is asyncio.current_task():
                del self._drains[sender_id]
                self._wakeups.pop(sender_id, None)
                self._unnamed.pop(sender_id, None)
                self._newest_named.pop(sender_id, None)

    async def poll_once(self) -> None:
        for sender_id in await asyncio.to_thread(self.inbox.claimable_senders):
            self.wake(sender_id, "poll")
        INBOX_BACKLOG.set(await asyncio.to_thread(self.inbox.backlog))

    def wake_from_notify(self, sender_id: str, row_id: Optional[int] = None) -> None:
        """A Postgres NOTIFY for `sender_id` (row `row_id`): the row is committed (the listener's callback)."""
        self.wake(sender_id, "notify", row_id)

    def poll_soon(self) -> None:
        """One poll now, in the background (the listener reconnected: notifications may have been missed)."""
        if not self._stopping:
            asyncio.create_task(self._poll_logged(), name="whatsapp-inbox-poll")

    async def _poll_logged(self) -> None:
        try:
            await self.poll_once()
        except sa.exc.SQLAlchemyError as exc:
            logger.error("Inbox poll failed (%s: %s); the poller retries", type(exc).__name__, exc)

    async def _poll_forever(self) -> None:
        """The safety net under every wake-up: it must outlive any error, expected or not."""
        while not self._stopping:
            try:
                await self.poll_once()
            except sa.exc.SQLAlchemyError as exc:
                logger.error("Inbox poll failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc,
                             self.settings.inbox_poll_seconds)
            except Exception as exc:  # a bug must not stop the poller: logged with its traceback
                logger.exception("Inbox poll crashed (%s); retrying in %.1fs", type(exc).__name__,
                                 self.settings.inbox_poll_seconds)
            await asyncio.sleep(self.settings.inbox_poll_seconds)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop polling, let running turns finish for `grace_seconds`, then cancel (rows go back to pending)."""
        self._stopping = True
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        drains = [task for task in self._drains.values() if not task.done()]
        if drains:
            _, still_running = await asyncio.wait(drains, timeout=grace_seconds)
            for task in still_running:
                task.cancel()
            await asyncio.gather(*still_running, return_exceptions=True)
